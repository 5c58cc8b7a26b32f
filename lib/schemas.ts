/**
 * JSON schemas of the plugin's error bodies, shared with `fastify.addSchema` so routes can `$ref` them
 * for their 4xx/5xx responses and `@fastify/swagger`-style generators show the error shapes, under
 * the media type that is sent (`errorResponses`):
 *
 *   app.get('/users/:id', { schema: { response: {
 *     200: User,
 *     ...errorResponses({ problemDetails: true })   // '4xx' and '5xx', application/problem+json
 *   } } }, handler)
 *
 * The ids are plain names, not `…#fragment` ones: Fastify resolves a `$ref` to a shared schema by its
 * `$id`, and an id with a fragment is not found. Both schemas allow additional properties, so an error
 * body never loses a member to a route's response serializer.
 */
import type { FastifyInstance } from 'fastify'
import type { ErrorJsonMember } from './pages.js'

/** `$id` of the default JSON error body (`{ statusCode, code, error, message, … }`). */
export const ERROR_SCHEMA_ID = 'fastify-flask-errors/error'

/** `$id` of the RFC 9457 problem details body (`problemDetails: true`). */
export const PROBLEM_SCHEMA_ID = 'fastify-flask-errors/problem'

/** One of Fastify's (Ajv's) validation error objects, as `validation` carries them. */
const validationItem = {
  type: 'object',
  properties: {
    instancePath: { type: 'string', description: 'JSON pointer to the failing value inside validationContext' },
    schemaPath: { type: 'string' },
    keyword: { type: 'string' },
    params: { type: 'object', additionalProperties: true },
    message: { type: 'string' }
  },
  additionalProperties: true
} as const

/** The members validation errors add to either body. */
const validationMembers = {
  validation: { type: 'array', items: validationItem, description: 'Validation errors only: Fastify\'s (Ajv\'s) error objects' },
  validationContext: { type: 'string', description: 'Validation errors only: body, querystring, params or headers' }
} as const

/** The default JSON error body: Fastify's own shape, plus `requestId` and validation details. */
export const errorSchema = {
  $id: ERROR_SCHEMA_ID,
  description: 'Error response (fastify-flask-errors): Fastify\'s error shape',
  type: 'object',
  required: ['statusCode', 'error', 'message'],
  properties: {
    statusCode: { type: 'integer', minimum: 400, maximum: 599 },
    code: { type: 'string', description: 'Error code, e.g. FST_ERR_VALIDATION' },
    error: { type: 'string', description: 'Reason phrase, e.g. Not Found' },
    message: { type: 'string', description: 'What went wrong; generic text for 5xx' },
    ...validationMembers,
    requestId: { type: 'string', description: 'Reference of this request in the server log' },
    traceId: { type: 'string', description: 'OpenTelemetry trace id of the request, when it is traced' }
    // Exactly the members lib/pages.ts writes, in its order (the compiler checks the names, a test the order).
  } satisfies Record<ErrorJsonMember, object>,
  additionalProperties: true
} as const

/** The RFC 9457 problem details body, with the plugin's extension members. */
export const problemSchema = {
  $id: PROBLEM_SCHEMA_ID,
  description: 'Problem details (RFC 9457), application/problem+json (fastify-flask-errors)',
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'instance'],
  properties: {
    type: { type: 'string', format: 'uri-reference', description: 'Problem type URI; about:blank when the status says it all' },
    title: { type: 'string', description: 'Reason phrase, or the problem type\'s title' },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    detail: { type: 'string', description: 'What went wrong; generic text for 5xx' },
    instance: { type: 'string', format: 'uri-reference', description: 'The request path' },
    code: { type: 'string', description: 'Error code, e.g. FST_ERR_VALIDATION' },
    requestId: { type: 'string', description: 'Reference of this request in the server log' },
    traceId: { type: 'string', description: 'OpenTelemetry trace id of the request, when it is traced' },
    errors: {
      type: 'array',
      description: 'Validation errors only: one entry per failure',
      items: {
        type: 'object',
        required: ['pointer', 'detail'],
        properties: {
          pointer: {
            type: 'string',
            description: 'JSON pointer (URI fragment form) into { body, querystring, params, headers }, e.g. #/body/name'
          },
          detail: { type: 'string' },
          keyword: { type: 'string', description: 'JSON Schema keyword that failed' }
        },
        additionalProperties: true
      }
    },
    ...validationMembers
  },
  additionalProperties: true
} as const

/** The media type of each body, as the plugin sends it (lib/respond.ts; charset aside). */
const ERROR_MEDIA_TYPE = 'application/json'
const PROBLEM_MEDIA_TYPE = 'application/problem+json'

/** One response entry of a route schema, in the form Fastify and `@fastify/swagger` read per media type. */
export interface ErrorResponseSchema {
  description: string
  content: Record<string, { schema: { $ref: string } }>
}

/** Which body the documented routes answer errors with: the context's `problemDetails` option. */
export interface ErrorResponsesOptions {
  /** The same value as the `problemDetails` option in force for the route. Default false. */
  problemDetails?: boolean
}

/**
 * The `'4xx'` and `'5xx'` entries of a route's response schema, with the media type the plugin
 * actually sends: `@fastify/swagger` documents a bare `{ $ref }` response as `application/json`,
 * which is wrong for problem details. A response given with `content` keeps its media type in the
 * OpenAPI document (and Fastify picks a serializer by the reply's content type the same way).
 * Fresh objects on every call: schema tools write to what they are given.
 * @example
 * api.get('/users/:id', { schema: { response: { 200: User, ...errorResponses({ problemDetails: true }) } } }, handler)
 */
export function errorResponses (options: ErrorResponsesOptions = {}): { '4xx': ErrorResponseSchema, '5xx': ErrorResponseSchema } {
  const problem = options.problemDetails === true
  const entry = (kind: string): ErrorResponseSchema => ({
    description: `${kind} (${problem ? 'RFC 9457 problem details' : 'Fastify\'s error shape'})`,
    content: { [problem ? PROBLEM_MEDIA_TYPE : ERROR_MEDIA_TYPE]: { schema: { $ref: problem ? PROBLEM_SCHEMA_ID : ERROR_SCHEMA_ID } } }
  })
  return { '4xx': entry('Client error'), '5xx': entry('Server error') }
}

/**
 * Adds both schemas to `fastify` (where the plugin is registered, so every child context sees them).
 * An id the application already uses is left alone: its own schema under that id wins.
 */
export function addErrorSchemas (fastify: FastifyInstance): void {
  for (const schema of [errorSchema, problemSchema]) {
    // A copy per app: schema tools (Ajv, @fastify/swagger adding a `title`) may write to the object.
    if (fastify.getSchema(schema.$id) === undefined) fastify.addSchema(structuredClone(schema))
  }
}
