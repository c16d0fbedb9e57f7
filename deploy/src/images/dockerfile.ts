import { readFileSync } from 'node:fs';
import { DockerfileParser } from 'dockerfile-ast';

/** One build stage of a Dockerfile, instructions flattened to keyword + argument text. */
export interface Stage {
  readonly name: string | undefined;
  /** FROM image with global ARG defaults substituted. */
  readonly base: string;
  readonly instructions: readonly {
    keyword: string;
    args: string;
    flags: Record<string, string>;
    line: number;
  }[];
}

export interface ParsedDockerfile {
  readonly path: string;
  readonly globalArgs: Readonly<Record<string, string>>;
  readonly stages: readonly Stage[];
}

/** Parses a Dockerfile with dockerfile-ast (the parser behind VS Code's Docker support). */
export function parseDockerfile(path: string): ParsedDockerfile {
  const doc = DockerfileParser.parse(readFileSync(path, 'utf8'));
  const globalArgs: Record<string, string> = {};
  const stages: {
    name: string | undefined;
    base: string;
    instructions: Stage['instructions'][number][];
  }[] = [];
  for (const instruction of doc.getInstructions()) {
    const keyword = instruction.getKeyword().toUpperCase();
    const args = instruction.getArgumentsContent() ?? '';
    const line = instruction.getRange().start.line + 1;
    if (keyword === 'FROM') {
      const parts = args.split(/\s+/);
      const image = (parts[0] ?? '').replace(
        /\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g,
        (_, name: string) => globalArgs[name] ?? `\${${name}}`,
      );
      const as = parts.findIndex((p) => p.toUpperCase() === 'AS');
      stages.push({ name: as === -1 ? undefined : parts[as + 1], base: image, instructions: [] });
      continue;
    }
    if (stages.length === 0) {
      if (keyword === 'ARG') {
        const [name, value] = args.split('=');
        if (name && value !== undefined) globalArgs[name.trim()] = value.trim();
      }
      continue;
    }
    const flags: Record<string, string> = {};
    const withFlags = instruction as unknown as {
      getFlags?: () => { getName(): string; getValue(): string | null }[];
    };
    for (const flag of withFlags.getFlags?.() ?? []) flags[flag.getName()] = flag.getValue() ?? '';
    const argsWithoutFlags = args.replace(/^(--[a-z-]+=\S+\s+)+/, '');
    stages[stages.length - 1]?.instructions.push({ keyword, args: argsWithoutFlags, flags, line });
  }
  return { path, globalArgs, stages };
}

/** "node:20.20.2-bookworm-slim" → { name, tag }; a stage name has no tag. */
export function splitImage(image: string): { name: string; tag?: string; digest?: string } {
  const [ref, digest] = image.split('@');
  const colon = (ref ?? '').lastIndexOf(':');
  const slash = (ref ?? '').lastIndexOf('/');
  const base = ref ?? '';
  return colon > slash
    ? { name: base.slice(0, colon), tag: base.slice(colon + 1), ...(digest ? { digest } : {}) }
    : { name: base, ...(digest ? { digest } : {}) };
}
