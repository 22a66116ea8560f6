// files: file mode, a folder of YAML manifests standing in for the API server.
// May import store/ and observability/.
export { FolderSource } from "./folder-source.ts";
export type { FolderSourceOptions } from "./folder-source.ts";
