// config/: zod-validated configuration. Annotations: turnout.dev/* Ingress
// annotations -> weight, match conditions, backend policy. Imports routing/ types only.
export {
  ANNOTATION_PREFIX,
  DEFAULT_AFFINITY_COOKIE_NAME,
  DEFAULT_BACKEND_POLICY,
  DEFAULT_HEALTH_CHECK,
  formatAnnotationProblem,
  parseIngressAnnotations,
} from "./annotations.ts";
export type { AnnotationParseResult, AnnotationProblem, IngressAnnotations } from "./annotations.ts";
export { ANNOTATION_NAMES } from "./annotation-schemas.ts";
export type { AnnotationName } from "./annotation-schemas.ts";
export { compileSafeRegex, MAX_REGEX_LENGTH } from "./safe-regex.ts";
