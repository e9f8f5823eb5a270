import { AktsError, type Code } from "../../errors";

/** The stable code of each refusal the server answers with itself. */
const CODE_OF_STATUS: Record<number, Code> = {
  400: "AKTS7001",
  401: "AKTS7005",
  404: "AKTS7003",
  405: "AKTS7004",
  409: "AKTS7006",
  413: "AKTS7002",
  500: "AKTS7010",
  503: "AKTS7008",
  504: "AKTS7007",
};

/** An HTTP-level refusal: the server answers `status` with `{"error": {code, message}}` and keeps serving. */
export class HttpError extends AktsError {
  constructor(
    readonly status: number,
    message: string,
    /** Extra response headers, e.g. `allow` for a 405. */
    readonly headers: Record<string, string> = {},
    /** A code of its own, where the status's usual one is not precise enough. */
    code: Code = CODE_OF_STATUS[status] ?? "AKTS7010",
  ) {
    super(code, message);
  }
}
