// What other tools may use of the local stack (through the @conveyor/local-stack path alias).
export { startDevIdentityProvider, type DevIdentityProvider } from './dev-identity-provider';
