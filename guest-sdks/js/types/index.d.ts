// Types for wafer functions written in JavaScript or TypeScript (checked with JSDoc):
//
//   /** @type {import('@wafer/guest').Handler} */
//   export default async ({ req, res, log, error }) => res.json({ ok: true });

export type HeadersInit =
  | Record<string, string | number | boolean | Array<string | number | boolean>>
  | Iterable<[string, string]>;

export type Body = string | Uint8Array | ArrayBuffer | ArrayBufferView | number[];

/** The incoming request. */
export interface Request {
  /** Upper-case: `GET`, `POST`, … */
  readonly method: string;
  /** `http` or `https`. */
  readonly scheme: string;
  /** The host name, without the port. */
  readonly host: string;
  readonly port: number;
  /** Starts with `/`; no query string. */
  readonly path: string;
  /** Without the leading `?`; empty when there is none. */
  readonly queryString: string;
  /** Percent-decoded; a repeated key keeps its first value. */
  readonly query: Record<string, string>;
  /** `scheme://host[:port]path[?query]`. */
  readonly url: string;
  /** Lower-case names; repeated headers joined with `, `. */
  readonly headers: Record<string, string>;
  readonly bodyBinary: Uint8Array;
  readonly bodyText: string;
  /** The same as `bodyText`. */
  readonly bodyRaw: string;
  /** The body parsed as JSON; throws when it is not JSON. */
  readonly bodyJson: any;
  /** `bodyJson` when the content type is JSON, `bodyText` otherwise. */
  readonly body: any;
}

/** What a function returns; made by `res`. */
export interface Response {
  readonly statusCode: number;
  readonly headers: Array<[string, string]>;
  readonly body: Uint8Array;
}

export interface ResponseBuilder {
  /** `text/plain; charset=utf-8` unless `headers` say otherwise. */
  send(body: Body, statusCode?: number, headers?: HeadersInit): Response;
  text(body: string, statusCode?: number, headers?: HeadersInit): Response;
  /** `application/json`. */
  json(value: unknown, statusCode?: number, headers?: HeadersInit): Response;
  /** `application/octet-stream` unless `headers` say otherwise. */
  binary(body: Body, statusCode?: number, headers?: HeadersInit): Response;
  /** 204, no body. */
  empty(): Response;
  /** 301 unless given, with `location`. */
  redirect(url: string, statusCode?: number, headers?: HeadersInit): Response;
}

export interface Context {
  req: Request;
  res: ResponseBuilder;
  /** A line in the execution's logs; objects are JSON-encoded. */
  log(...values: unknown[]): void;
  /** A line in the execution's errors; objects are JSON-encoded. */
  error(...values: unknown[]): void;
}

/** A wafer function: the module's default export. A standard Fetch `Response` may be returned too. */
export type Handler = (context: Context) => Response | globalThis.Response | Promise<Response | globalThis.Response>;
