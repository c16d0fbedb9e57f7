import type { Kysely } from 'kysely';
import type { Database } from '../store/tables';
import {
  DefinitionError,
  loadWorkflowSources,
  type DefinitionProblem,
  type SourceFile,
} from './loader';
import type { QueueLimits, WorkflowDefinition } from './model';

/**
 * All versions of all workflows, cached in memory. Every version that was ever loaded is also
 * stored in the database, so runs started on an old version keep executing it after the YAML
 * moved on (or after a restart on another replica).
 */
export class DefinitionRegistry {
  private readonly byKey = new Map<string, WorkflowDefinition>();
  private readonly latest = new Map<string, WorkflowDefinition>();
  private limits: ReadonlyMap<string, QueueLimits> = new Map();

  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Validates `files` and registers their definitions. A (name, version) already registered with
   * different content is refused: runs may be executing it, so edits need a new version.
   */
  async load(files: readonly SourceFile[]): Promise<WorkflowDefinition[]> {
    const result = loadWorkflowSources(files);
    const problems: DefinitionProblem[] = [...result.problems];
    const now = Date.now();
    for (const def of result.definitions) {
      await this.db
        .insertInto('workflow_definitions')
        .values({
          name: def.name,
          version: def.version,
          hash: def.hash,
          source: def.source,
          file: def.file,
          registered_at: now,
        })
        .onConflict((oc) => oc.columns(['name', 'version']).doNothing())
        .execute();
      const stored = await this.db
        .selectFrom('workflow_definitions')
        .select(['hash', 'file'])
        .where('name', '=', def.name)
        .where('version', '=', def.version)
        .executeTakeFirstOrThrow();
      if (stored.hash !== def.hash) {
        problems.push({
          file: def.file,
          line: 2,
          column: 1,
          path: 'version',
          message: `workflow ${def.name} version ${def.version} was registered earlier with different content (from ${stored.file}); runs may depend on it: increase \`version\` to publish the change`,
        });
      }
    }
    if (problems.length > 0) throw new DefinitionError(problems);
    for (const def of result.definitions) this.add(def);
    this.limits = result.queueLimits;
    return [...result.definitions];
  }

  /** The limits of a queue from the catalog of the last load, if it has any. */
  queueLimits(queue: string): QueueLimits | undefined {
    return this.limits.get(queue);
  }

  /** Every queue with a limit. */
  limitedQueues(): string[] {
    return [...this.limits.keys()];
  }

  private add(def: WorkflowDefinition): void {
    this.byKey.set(`${def.name}@${def.version}`, def);
    const current = this.latest.get(def.name);
    if (!current || current.version < def.version) this.latest.set(def.name, def);
  }

  latestVersion(name: string): WorkflowDefinition | undefined {
    return this.latest.get(name);
  }

  /** Every version in memory (loaded from disk or read back for a running run). */
  all(): WorkflowDefinition[] {
    return [...this.byKey.values()];
  }

  list(): WorkflowDefinition[] {
    return [...this.latest.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** A specific version if it is in memory (no promise: the hot path's common case). */
  cached(name: string, version: number): WorkflowDefinition | undefined {
    return this.byKey.get(`${name}@${version}`);
  }

  /**
   * A specific version: from the cache, else from the database (a version no longer on disk).
   * Inside a transaction pass its executor: SQLite has one connection, which the transaction holds.
   */
  async get(
    name: string,
    version: number,
    executor: Kysely<Database> = this.db,
  ): Promise<WorkflowDefinition | undefined> {
    const cached = this.byKey.get(`${name}@${version}`);
    if (cached) return cached;
    const row = await executor
      .selectFrom('workflow_definitions')
      .select(['source', 'file'])
      .where('name', '=', name)
      .where('version', '=', version)
      .executeTakeFirst();
    if (!row) return undefined;
    const result = loadWorkflowSources([{ file: row.file, text: row.source }], {
      knownWorkflows: [...this.latest.keys()],
    });
    const def = result.definitions[0];
    if (!def) throw new DefinitionError(result.problems);
    this.byKey.set(`${name}@${version}`, def);
    return def;
  }
}
