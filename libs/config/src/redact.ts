import { splitUrlList } from './url-list';

/**
 * A URL or connection string with its credentials replaced: `scheme://user:***@host...`. The user
 * information is everything from after `://` (or the start) to the last `@`, whatever it holds
 * (`/`, `@`, `:`, spaces...), so a password that is not percent-encoded cannot leak either; a
 * user information without `:` (a token as user name) is replaced whole. A value without `@` is
 * returned as it is.
 */
export function redactUrl(value: string): string {
  const at = value.lastIndexOf('@');
  if (at === -1) return value;
  const schemeEnd = value.indexOf('://');
  const start = schemeEnd !== -1 && schemeEnd < at ? schemeEnd + 3 : 0;
  const userinfo = value.slice(start, at);
  const colon = userinfo.indexOf(':');
  const redacted = colon === -1 ? '***' : `${userinfo.slice(0, colon)}:***`;
  return `${value.slice(0, start)}${redacted}${value.slice(at)}`;
}

/** Each URL of a comma-separated list redacted (see `redactUrl` and `splitUrlList`). */
export function redactUrlList(value: string): string {
  return splitUrlList(value).map(redactUrl).join(',');
}

/** `text` with the credentials of every `scheme://user:password@` in it replaced (see `redactUrl`). */
export function redactCredentials(text: string): string {
  return text.replace(/[a-z][a-z0-9+.-]*:\/\/\S*@/gi, (url) => redactUrl(url));
}
