/** @conveyor/draughts-learning: self-play logs, opening statistics, a transformer scorer and batched neural minimax. */
export * from './game-log';
export * from './selfplay';
export * from './selfplay-run';
export * from './pool';
export * from './multinomial-test';
export * from './opening-stats';
export * from './root-scores';
export * from './book-selector';
export * from './encoding';
export * from './transformer';
export * from './model-io';
export * from './neural-scorer';
export * from './batched-minimax';
