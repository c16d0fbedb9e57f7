/**
 * A counter's value on a service's Prometheus `/metrics`: the first series of `name` whose
 * labels contain `labels` (e.g. `queue="ocr"`; '' for any), 0 while no such series exists.
 */
export async function readCounter(baseUrl: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').pop()) : 0;
}
