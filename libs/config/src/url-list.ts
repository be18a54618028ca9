/**
 * A list of broker URLs in one variable: `amqp://u:p@rabbit-0:5672/tally,amqp://u:p@rabbit-1:5672/tally`.
 *
 * The list splits at a comma that starts another URL (`,` then `scheme://`), so a password that
 * holds a comma still reads as part of its URL.
 */
export function splitUrlList(value: string): string[] {
  return value.split(/\s*,\s*(?=[a-z][a-z0-9+.-]*:\/\/)/i).map((part) => part.trim());
}

export interface UrlListCheck {
  /** Accepted schemes, with their colon: `['amqp:', 'amqps:']`. */
  protocols: readonly string[];
  /** What one URL must be, for the message: `an amqp:// or amqps:// URL`. */
  expected: string;
}

/**
 * Why `value` is not a usable list of broker URLs, or `undefined` when it is. Every URL of a list
 * must differ from the others only by host and port: the clients that fail over between them
 * (rabbitmq-client's `hosts`, MQTT.js's `servers`) log in to each with the same user, password,
 * vhost and transport.
 */
export function urlListProblem(value: string, { protocols, expected }: UrlListCheck): string | undefined {
  const parts = splitUrlList(value);
  const where = (i: number) => (parts.length === 1 ? '' : `URL ${i + 1} of ${parts.length}: `);
  const urls: URL[] = [];
  for (const [i, part] of parts.entries()) {
    let url: URL | undefined;
    try {
      url = new URL(part);
    } catch {
      url = undefined;
    }
    if (url === undefined || !protocols.includes(url.protocol) || url.hostname === '') {
      const hint = parts.length === 1 && part.includes(',') ? ' (several are separated by commas, each with its scheme)' : '';
      return `${where(i)}expected ${expected}${hint}`;
    }
    urls.push(url);
  }
  const first = urls[0] as URL;
  for (const [i, url] of urls.entries()) {
    const twin = urls.findIndex((other) => other.host === url.host);
    if (twin < i) return `URL ${i + 1} of ${urls.length} names the same host and port as URL ${twin + 1}`;
    if (url.protocol !== first.protocol || url.username !== first.username || url.password !== first.password || vhostOf(url) !== vhostOf(first)) {
      return `URL ${i + 1} of ${urls.length}: expected the scheme, user, password and vhost of URL 1 (only host and port may differ)`;
    }
  }
  return undefined;
}

/** `amqp://host` and `amqp://host/` both name the default vhost. */
function vhostOf(url: URL): string {
  return url.pathname === '/' ? '' : url.pathname;
}
