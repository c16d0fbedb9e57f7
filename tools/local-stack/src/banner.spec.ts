import { banner } from './banner';

describe('start-up banner', () => {
  const urls = {
    checkers: 'http://127.0.0.1:3003',
    classifier: 'http://127.0.0.1:3002',
    classifierWorker: 'http://127.0.0.1:3006',
    orchestrator: 'http://127.0.0.1:3001',
    svcProxy: 'http://127.0.0.1:3004',
    devIdentityProvider: 'http://127.0.0.1:3007',
  };

  it('prints every URL, the sign-in address and that the provider is for local use only', () => {
    const text = banner(
      { urls, devEmail: 'dev@conveyor.local', bus: 'embedded', database: 'sqlite' },
      { dataDir: '/repo/var/local-stack' },
    );
    expect(text).toContain(
      'Conveyor local stack is running (embedded in-process bus, SQLite under /repo/var/local-stack)',
    );
    expect(text).toMatch(/^ {2}checkers \(play draughts\) +http:\/\/127\.0\.0\.1:3003\/$/m);
    expect(text).toMatch(/^ {2}classifier API +http:\/\/127\.0\.0\.1:3002\/v1\/classify/m);
    expect(text).toMatch(/^ {2}orchestrator API +http:\/\/127\.0\.0\.1:3001\/api\/runs/m);
    expect(text).toMatch(/^ {2}run inspector +http:\/\/127\.0\.0\.1:3001\/$/m);
    expect(text).toContain(
      'http://127.0.0.1:3004/proxy/local/orchestrator/orchestrator-0/debug/vars',
    );
    expect(text).toContain('signed in as dev@conveyor.local');
    expect(text).toContain('FOR LOCAL USE ONLY');
    expect(text).toContain('Ctrl-C stops every service.');
  });

  it('says when RabbitMQ and PostgreSQL are in use', () => {
    expect(
      banner(
        { urls, devEmail: 'd@x.io', bus: 'rabbitmq', database: 'postgres' },
        { dataDir: '/d' },
      ),
    ).toContain('Conveyor local stack is running (RabbitMQ (AMQP_URL), PostgreSQL (DATABASE_URL))');
  });

  it("passes on the launcher's note about the classifier's model", () => {
    const note =
      'the default model is not in this checkout; the classifier serves the TF-IDF baseline';
    expect(
      banner(
        { urls, devEmail: 'd@x.io', bus: 'embedded', database: 'sqlite' },
        { dataDir: '/d', classifierModel: { dir: '/b', note } },
      ),
    ).toContain(`  note: ${note}`);
  });
});
