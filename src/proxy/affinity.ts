// Sticky sessions: the affinity cookie names a backend and one of its endpoints
// (opaque hashes, the same on every replica), so a client stays with the Ingress a
// weighted split first sent it to (a canary, say) and with that backend's endpoint.
import { xxh32 } from "../balancer/index.ts";
import type { RequestValues, RouteRequest } from "../routing/index.ts";
import type { AffinityPolicy, BackendRef, RouteGroup, RouteMember } from "../routing/route-table.ts";
import { affinityId } from "./backend-picker.ts";

const tags = new WeakMap<BackendRef, string>();

/** The cookie value's backend part: a hash of the backend key, memoised per table object. */
function backendTag(backend: BackendRef): string {
  let tag = tags.get(backend);
  if (tag === undefined) {
    tag = xxh32(backend.key, 0x62636b64).toString(16).padStart(8, "0");
    tags.set(backend, tag);
  }
  return tag;
}

/** The Set-Cookie value that pins later requests to `address` of `backend`. */
export function affinityCookie(policy: AffinityPolicy, backend: BackendRef, address: string, secure: boolean): string {
  const maxAge = policy.maxAgeSeconds !== undefined ? `; Max-Age=${policy.maxAgeSeconds}` : "";
  return `${policy.cookieName}=${backendTag(backend)}${affinityId(address)}; Path=/; HttpOnly${secure ? "; Secure" : ""}${maxAge}`;
}

/** The endpoint id one of the cookie's values names for `backend` (a client may carry several backends' cookies). */
export function pinnedEndpointId(values: RequestValues, backend: BackendRef): string | undefined {
  if (values === undefined) return undefined;
  const tag = backendTag(backend);
  for (const value of typeof values === "string" ? [values] : values) {
    if (value.length === 16 && value.startsWith(tag)) return value.slice(8);
  }
  return undefined;
}

/**
 * The member a request goes to when the weights chose `chosen`: the weighted member
 * whose affinity cookie the client carries, so a weighted split is sticky too.
 * Conditioned members are left alone (their conditions decided), as are members whose
 * weight dropped to 0 (they are no longer in `weighted`: a rolled-back canary lets go).
 */
export function stickyMember(group: RouteGroup, chosen: RouteMember, request: RouteRequest): RouteMember {
  if (group.sole !== undefined || chosen.conditions.length > 0 || group.weighted.length < 2) return chosen;
  for (const member of group.weighted) {
    const affinity = member.policy.affinity;
    if (affinity !== undefined && pinnedEndpointId(request.cookie(affinity.cookieName), member.backend) !== undefined) return member;
  }
  return chosen;
}
