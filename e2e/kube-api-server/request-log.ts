// Every resource request the server saw, as RBAC would judge it, so tests can assert which
// permissions the controller really needs.

export interface RequestRecord {
  verb: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** False when RBAC refused it. */
  allowed: boolean;
  /** Response status; 0 until the answer is sent (a watch gets 200 once it streams). */
  code: number;
}

const MAX_RECORDS = 100_000;

export class RequestLog {
  #records: RequestRecord[] = [];

  /** Appends a record and returns it, so its `code` can be filled in when the response ends. */
  add(record: RequestRecord): RequestRecord {
    this.#records.push(record);
    if (this.#records.length > MAX_RECORDS) this.#records.shift();
    return record;
  }

  entries(): RequestRecord[] {
    return this.#records.map((r) => ({ ...r }));
  }

  clear(): void {
    this.#records = [];
  }
}
