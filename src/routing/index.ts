// routing: the RouteTable model, the request matcher, and table views for debugging
// and change detection. Imports nothing from other src/ folders.
export type * from "./route-table.ts";
export { LOAD_BALANCE_POLICIES, routeGroup } from "./route-table.ts";
export type { HttpRequestParts, RequestValues, RouteRequest } from "./request.ts";
export { normaliseRequestHost, parseCookieHeader, routeRequestFromHttp } from "./request.ts";
export { conditionHolds, conditionsHold } from "./conditions.ts";
export type { RouteMatch } from "./match.ts";
export { matchRoute, pickMember, selectHostRoutes, wildcardKeyOf } from "./match.ts";
export type {
  DescribedCondition,
  DescribedGroup,
  DescribedHost,
  DescribedMember,
  DescribedRouteTable,
} from "./describe.ts";
export { describeRouteGroup, describeRouteTable } from "./describe.ts";
export { backendRefsEqual, routeTableFingerprint, routeTablesEqual } from "./fingerprint.ts";
export type { PublishedTable } from "./published-table.ts";
export { RouteTableHolder } from "./published-table.ts";
