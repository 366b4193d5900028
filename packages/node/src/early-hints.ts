/** The links of a `103 Early Hints` response, checked as node:http checks them before writing one. */

/** An RFC 8288 link as node's own early-hint check takes it: `<uri>` then `; param[=value]` pieces. */
const LINK = /^<[^>\s]*>(?:\s*;\s*[^;"\s=]+(?:=(?:"[^"]*"|[^;"\s]*))?)*$/;

/** Throws, naming the link, when one of `links` is not `<uri>; param=value...`. */
export function checkEarlyHintLinks(links: readonly string[]): void {
  for (const link of links) {
    if (!LINK.test(link)) throw new TypeError(`an early hint's link must be '<uri>' followed by '; param=value' pieces; got ${JSON.stringify(link)}`);
  }
}
