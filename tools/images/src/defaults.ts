import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import {
  containerLogs,
  containerState,
  podman,
  removeLabelledContainers,
  RUN_LABEL,
  ulimitArgs,
} from './podman';
import { probeOnce } from './pods';

/** What an image does when started with no settings at all. */
export type DefaultExpectation =
  | { readonly kind: 'serves'; readonly port: number; readonly path: string }
  | { readonly kind: 'refuses'; readonly exitCode: number; readonly mentions: readonly string[] };

const portInUse = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/**
 * `podman run <image>` with no environment, no volume, no command: a service must answer
 * `path` (its readiness) on the image's own PORT; svc-proxy must exit with its configuration
 * error naming what is missing. One at a time on the host network (they share the default port).
 */
export async function checkDefaults(
  image: string,
  expect: DefaultExpectation,
  deadlineMs: number,
): Promise<string> {
  const runId = `defaults-${randomBytes(3).toString('hex')}`;
  const name = `conveyor-check-${runId}`;
  if (expect.kind === 'serves' && (await portInUse(expect.port)))
    throw new Error(
      `${image}: port ${expect.port} on this machine is in use; the defaults check needs it free`,
    );
  try {
    await podman([
      'run',
      '--detach',
      '--pull=never',
      '--name',
      name,
      '--label',
      `${RUN_LABEL}=${runId}`,
      '--network',
      'host',
      ...ulimitArgs(),
      image,
    ]);
    const started = Date.now();
    for (;;) {
      const state = await containerState(name);
      if (expect.kind === 'refuses') {
        if (!state.running) {
          const logs = await containerLogs(name, 30);
          const missing = expect.mentions.filter((m) => !logs.includes(m));
          if (state.exitCode !== expect.exitCode || missing.length > 0)
            throw new Error(
              `${image} with no settings exited ${state.exitCode} (expected ${expect.exitCode}) without naming ${missing.join(', ')}:\n${logs}`,
            );
          const first = logs.split('\n').find((l) => l.trim() !== '') ?? '';
          return `${image}: refuses to start with no settings (exit ${state.exitCode}), naming ${expect.mentions.join(', ')}: "${first.trim().slice(0, 120)}"`;
        }
      } else {
        if (!state.running)
          throw new Error(
            `${image} with no settings exited with code ${state.exitCode}:\n${await containerLogs(name, 30)}`,
          );
        const probe = await probeOnce('127.0.0.1', {
          path: expect.path,
          port: expect.port,
          timeoutSeconds: 3,
          initialDelaySeconds: 0,
          periodSeconds: 1,
          failureThreshold: 1,
          successThreshold: 1,
        });
        if (probe.ok)
          return `${image}: starts with no settings, ${expect.path} answers after ${((Date.now() - started) / 1000).toFixed(1)} s`;
      }
      if (Date.now() - started > deadlineMs)
        throw new Error(
          `${image} with no settings: ${expect.kind === 'serves' ? `${expect.path} not answering` : 'still running'} after ${deadlineMs / 1000} s:\n${await containerLogs(name, 30)}`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await removeLabelledContainers(runId);
  }
}
