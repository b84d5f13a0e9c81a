/** Reading Prometheus' text exposition format in tests. */

/** The value of the sample written exactly `series` (name and labels as printed), or undefined. */
export function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
