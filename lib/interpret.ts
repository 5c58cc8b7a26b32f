/**
 * What a handler's return value means as a response: Flask's `make_response`, with the plugin's rules
 * for status and type. Pure: it reads the value and the status the reply has now, and says what to
 * send, or why the value is no response. Sending, and the cases that never reach here (a handler that
 * sent the reply itself, an error passed through), are lib/dispatch.ts's.
 */
import { describe } from './describe.js'
import { isPlainObject } from './thrown.js'

/** A handler result as a response. */
export interface Interpreted {
  /** What to send: a string, a Buffer, a stream, or the JSON text of an object or array. */
  readonly body: unknown
  /** The content type the body calls for; undefined for a Buffer or a stream (the handler's own, if any). */
  readonly type: string | undefined
  /** The status to answer with. */
  readonly status: number
  /** The tuple's headers, not yet validated (lib/headers.ts validates as it applies them). */
  readonly headers: Record<string, unknown> | undefined
}

/** The type of an HTML body: a string result, as Flask sends a returned string. */
export const HTML_TYPE = 'text/html; charset=utf-8'
/** The type of a JSON body: a plain object or array result, as Flask's `jsonify` sends it. */
export const JSON_TYPE = 'application/json; charset=utf-8'

/**
 * The response `result` stands for, or a sentence (to follow "error handler <label> ") saying why it is
 * none. `replyStatus` is the reply's status when the handler returned: the one it set with
 * `reply.code()`, else the error's own (set before the handler ran). May throw while reading a hostile
 * value (a revoked Proxy, an array whose getters throw): the caller counts that as a failure too.
 * @example
 * interpret(['teapot', 418], 410) // { body: 'teapot', type: 'text/html; charset=utf-8', status: 418, headers: undefined }
 */
export function interpret (result: unknown, replyStatus: number): Interpreted | string {
  // One object per result, built once: this runs for every handled error (no spreads on the hot path).
  const tuple = asTuple(result)
  const body = tuple === undefined ? result : tuple.body
  let type: string | undefined
  let payload: unknown = body
  if (typeof body === 'string') type = HTML_TYPE
  else if (Buffer.isBuffer(body) || isStream(body)) type = undefined
  else if (isPlainObject(body) || Array.isArray(body)) {
    try {
      payload = JSON.stringify(body)
    } catch (failure) {
      // A BigInt, a cycle, a throwing toJSON: said in the sentence, which becomes the handler's failure.
      return `returned an object that cannot be serialised as JSON (${(failure as Error).message})`
    }
    type = JSON_TYPE
  } else {
    return `returned ${describe(result)}: return a string, an object, an HTTPException, a tuple [body, status, headers] or send the reply`
  }
  // Status: the tuple's, else the reply's (the handler's reply.code(), else the error's own). Never
  // Flask's 200: an error answered with a body and no status keeps an error status.
  const status = tuple?.status ?? replyStatus
  if (status < 200) {
    // RFC 9110 §15.2: a 1xx status is informational, never a final response. Sent as one, the
    // client keeps waiting for the real answer: the request would hang.
    return `answered with status ${status}; a 1xx status is not a final response`
  }
  return { body: payload, type, status, headers: tuple?.headers }
}

/**
 * An array is a tuple when it has 2 or 3 items, its second is a status (100–599) or a plain headers
 * object, and its third (if any) a plain headers object: Flask's `(body, status)`, `(body, headers)`
 * and `(body, status, headers)`. Any other array is a JSON body (to send a tuple-shaped array as JSON,
 * `reply.send(array)` or wrap it).
 */
function asTuple (value: unknown): { body: unknown, status: number | undefined, headers: Record<string, unknown> | undefined } | undefined {
  if (!Array.isArray(value) || value.length < 2 || value.length > 3) return undefined
  const [body, second, third] = value as unknown[]
  const status = typeof second === 'number' && Number.isInteger(second) && second >= 100 && second <= 599 ? second : undefined
  if (status === undefined && !isPlainObject(second)) return undefined
  if (value.length === 3 && (status === undefined || !isPlainObject(third))) return undefined
  return { body, status, headers: status === undefined ? second as Record<string, unknown> : third as Record<string, unknown> | undefined }
}

/** A Node stream (anything with `pipe`): Fastify sends it as it is. */
function isStream (value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { pipe?: unknown }).pipe === 'function'
}
