/**
 * A service's start-up error as the launcher reports it. The apps' own messages speak of PORT,
 * which the local stack sets per service: that fix is rewritten to the launcher's variable, so
 * the user reads one fix, and the right one.
 */
export function startFailure(
  label: string,
  message: string,
  port: { readonly variable: string; readonly value: number } | undefined,
): string {
  if (!port) return `${label} failed to start: ${message}`;
  const rewritten = message.replace(/\bset PORT\b/g, `set ${port.variable}`);
  if (rewritten !== message) return `${label} failed to start: ${rewritten}`;
  // Some other problem with its address (a permission, a missing interface): say where it ran.
  const aboutItsPort = message.includes(`:${port.value}`);
  return aboutItsPort
    ? `${label} failed to start: ${message} (the local stack runs it on ${port.variable}=${port.value}; set that variable to move it)`
    : `${label} failed to start: ${message}`;
}
