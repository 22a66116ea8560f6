// The consistent-hashing key of a request, from the route's turnout.dev/hash-by.
import type { HashKeySource } from "../routing/route-table.ts";
import type { RouteRequest, RequestValues } from "../routing/request.ts";
import { normaliseRequestHost } from "../routing/request.ts";

/** The first of one or more values (headers, cookies and query parameters may repeat). */
export function firstValue(values: RequestValues): string | undefined {
  if (values === undefined) return undefined;
  return typeof values === "string" ? values : values[0];
}

/** undefined when the route does not hash or the request lacks the key (the balancer then falls back to round robin). */
export function hashKeyOf(source: HashKeySource | undefined, request: RouteRequest, clientIp: string, url: string): string | undefined {
  if (!source) return undefined;
  switch (source.kind) {
    case "header":
      return firstValue(request.header(source.name.toLowerCase()));
    case "cookie":
      return firstValue(request.cookie(source.name));
    case "query":
      return firstValue(request.query(source.name));
    case "source-ip":
      return clientIp === "" ? undefined : clientIp;
    case "path":
      return request.path;
    case "uri":
      return url;
    case "host":
      return normaliseRequestHost(request.host);
  }
}
