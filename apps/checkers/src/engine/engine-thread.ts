import { runSearch } from './search-task';

/**
 * Entry point of an engine worker thread (bundled to dist/engine-thread.js and loaded by piscina):
 * each task is one search. Searching synchronously is fine here — this thread does nothing else.
 */
export default runSearch;
