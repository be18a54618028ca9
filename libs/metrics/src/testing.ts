/** Every sample of the Prometheus text served at `url`, by its name and labels as written. */
export async function scrapeSamples(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(url)).text();
  return new Map(
    text
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.lastIndexOf(' ')), Number(line.slice(line.lastIndexOf(' ') + 1))]),
  );
}

/** The value of one sample (name and labels as written) of the Prometheus text at `url`, 0 when absent. */
export async function scrapeSample(url: string, sample: string): Promise<number> {
  return (await scrapeSamples(url)).get(sample) ?? 0;
}
