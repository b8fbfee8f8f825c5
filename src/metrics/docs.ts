// The metrics list of the README, generated from the registry itself so the two cannot drift apart
// (test/interop/operator-configs.test.ts compares them).
import { createMetrics } from './registry';

interface Described {
  name: string;
  type: string;
  help: string;
  labels: string[];
}

/** Every ispd_* family of the registry, in registration order. */
export function describeMetrics(): Described[] {
  const { registry } = createMetrics({ defaultMetrics: false });
  return registry
    .getMetricsAsArray()
    .filter((metric) => metric.name.startsWith('ispd_'))
    .map((metric) => {
      const m = metric as unknown as { name: string; help: string; type: unknown; labelNames?: string[] };
      return { name: m.name, type: String(m.type), help: m.help, labels: [...(m.labelNames ?? [])] };
    });
}

/** A Markdown table: name, type, labels, meaning. */
export function renderMetricsMarkdown(): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const lines = ['| metric | type | labels | meaning |', '|---|---|---|---|'];
  for (const m of describeMetrics()) {
    lines.push(`| \`${m.name}\` | ${m.type} | ${m.labels.map((l) => `\`${l}\``).join(', ') || '—'} | ${cell(m.help)} |`);
  }
  return lines.join('\n') + '\n';
}
