// Sticky sessions: the cookie names backend and endpoint; a weighted split follows it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fakeRequest, group, member, TEST_POLICY } from "../routing/test-tables.ts";
import type { RouteMember } from "../routing/route-table.ts";
import { affinityCookie, pinnedEndpointId, stickyMember } from "./affinity.ts";
import { affinityId } from "./backend-picker.ts";

const sticky = (name: string, weight: number): RouteMember => ({ ...member(name, { weight }), policy: { ...TEST_POLICY, affinity: { cookieName: "turnout-affinity" } } });
const stable = sticky("stable", 90);
const canary = sticky("canary", 10);
const ADDRESS = "10.0.0.1:8080";

/** The cookie value a response from `of` at ADDRESS sets. */
const valueFrom = (of: RouteMember): string => affinityCookie({ cookieName: "turnout-affinity" }, of.backend, ADDRESS, false).split(";")[0]!.split("=")[1]!;

test("the cookie names backend and endpoint by opaque ids, with Secure on HTTPS and Max-Age when set", () => {
  const plain = affinityCookie({ cookieName: "route" }, stable.backend, ADDRESS, false);
  assert.match(plain, /^route=[0-9a-f]{16}; Path=\/; HttpOnly$/);
  assert.ok(!plain.includes("10.0.0.1"));
  const secure = affinityCookie({ cookieName: "route", maxAgeSeconds: 60 }, stable.backend, ADDRESS, true);
  assert.equal(secure, `${plain.split(";")[0]}; Path=/; HttpOnly; Secure; Max-Age=60`);
});

test("a cookie value pins an endpoint of its own backend only; a client may carry several", () => {
  assert.equal(pinnedEndpointId(valueFrom(canary), canary.backend), affinityId(ADDRESS));
  assert.equal(pinnedEndpointId(valueFrom(canary), stable.backend), undefined);
  assert.equal(pinnedEndpointId([valueFrom(stable), valueFrom(canary)], canary.backend), affinityId(ADDRESS));
  assert.equal(pinnedEndpointId(affinityId(ADDRESS), stable.backend), undefined, "a cookie of the old format is re-issued");
  assert.equal(pinnedEndpointId(undefined, stable.backend), undefined);
});

test("a weighted split follows the client's affinity cookie, whatever the weights chose", () => {
  const split = group("shop.test", "", "Prefix", [stable, canary]);
  const withCanaryCookie = fakeRequest({ cookies: { "turnout-affinity": valueFrom(canary) } });
  assert.equal(stickyMember(split, stable, withCanaryCookie), canary);
  assert.equal(stickyMember(split, stable, fakeRequest({})), stable, "no cookie: the weights decide");
  const withoutCanary = group("shop.test", "", "Prefix", [stable, { ...canary, weight: 0 }]);
  assert.equal(stickyMember(withoutCanary, stable, withCanaryCookie), stable, "a canary rolled back to weight 0 lets its clients go");
  const conditioned = { ...sticky("beta", 0), conditions: [{ source: "header" as const, name: "x-beta", op: "present" as const }] };
  assert.equal(stickyMember(group("shop.test", "", "Prefix", [stable, canary, conditioned]), conditioned, withCanaryCookie), conditioned, "conditions decide before stickiness");
});
