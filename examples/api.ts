/**
 * A JSON API with RFC 9457 problem details, next to a site that keeps negotiating HTML/JSON.
 *
 *   npm run build && npx tsx examples/api.ts    # then: curl -i http://127.0.0.1:3000/api/v1/users/9
 *
 * Imports the package by its own name, as an application would: `npm run build` makes `dist/` first.
 *
 * - `/api/v1` registers the plugin again with `{ format: 'json', problemDetails: true }`: every error
 *   there — thrown, aborted, routing 404/405, validation, bad JSON, 413, 415 — is
 *   `application/problem+json`, even for a browser; the rest of the site negotiates as before;
 * - `InvalidAPIUsage` (the Flask docs' class) carries a problem `type` and a `payload` of members;
 * - `OutOfCredit` is RFC 9457's own example, through `toProblem()`;
 * - routes `$ref` the plugin's shared `fastify-flask-errors/problem` schema for their 4xx/5xx responses.
 */
import Fastify from 'fastify'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { fileURLToPath } from 'node:url'
import flaskErrors, { PROBLEM_SCHEMA_ID, abort, frameworkErrors } from 'fastify-flask-errors'

/** The Flask docs' API error: a message, a status and a payload; its problem type is the class's. */
export class InvalidAPIUsage extends Error {
  static type = 'https://example.com/problems/invalid-api-usage'
  statusCode = 400
  constructor (message: string, statusCode?: number, readonly payload: Record<string, unknown> = {}) {
    super(message)
    if (statusCode !== undefined) this.statusCode = statusCode
  }
}

/** RFC 9457 §3's example: the error shapes its own problem with `toProblem()`. */
export class OutOfCredit extends Error {
  readonly statusCode = 403
  constructor (readonly balance: number, readonly price: number, readonly account: string) {
    super(`Your current balance is ${balance}, but that costs ${price}.`)
  }

  toProblem (): Record<string, unknown> {
    return {
      type: 'https://example.com/probs/out-of-credit',
      title: 'You do not have enough credit.',
      balance: this.balance,
      accounts: [this.account]
    }
  }
}

interface User { id: number, name: string, credit: number }

const USER = {
  type: 'object',
  properties: { id: { type: 'integer' }, name: { type: 'string' }, credit: { type: 'integer' } }
} as const

/** Every 4xx/5xx of the API is a problem: the shared schema documents it (and @fastify/swagger shows it). */
const ERRORS = { '4xx': { $ref: PROBLEM_SCHEMA_ID }, '5xx': { $ref: PROBLEM_SCHEMA_ID } } as const

/** Builds the example (used by `npx tsx examples/api.ts` and by the tests). */
export async function buildApi (options: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: true, frameworkErrors, bodyLimit: 1024, ...options })
  await app.register(flaskErrors)
  const users = new Map<number, User>([[1, { id: 1, name: 'alice', credit: 30 }], [2, { id: 2, name: 'bob', credit: 500 }]])

  app.get('/', async (request, reply) => reply.type('text/html').send('<h1>Example API</h1><p>See <code>/api/v1/users/1</code>.</p>'))

  await app.register(async (api) => {
    // This context always answers problem+json, its unknown URLs and wrong methods included.
    await api.register(flaskErrors, { format: 'json', problemDetails: true })

    api.get<{ Params: { id: number } }>('/users/:id', {
      schema: { params: { type: 'object', properties: { id: { type: 'integer', minimum: 1 } } }, response: { 200: USER, ...ERRORS } }
    }, async (request) => users.get(request.params.id) ?? abort(404, `There is no user ${request.params.id}.`))

    api.post<{ Body: { name: string } }>('/users', {
      schema: {
        body: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 2, maxLength: 20 } }, additionalProperties: false },
        response: { 201: USER, ...ERRORS }
      }
    }, async (request, reply) => {
      const taken = [...users.values()].find((user) => user.name === request.body.name)
      if (taken !== undefined) {
        abort(409, `The name ${taken.name} is taken.`, { type: 'https://example.com/problems/name-taken', payload: { existing: `/api/v1/users/${taken.id}` } })
      }
      const user = { id: users.size + 1, name: request.body.name, credit: 0 }
      users.set(user.id, user)
      return await reply.code(201).send(user)
    })

    api.post<{ Params: { id: number }, Body: { price: number } }>('/users/:id/orders', {
      schema: {
        params: { type: 'object', properties: { id: { type: 'integer' } } },
        body: { type: 'object', required: ['price'], properties: { price: { type: 'integer', minimum: 1 } } },
        response: ERRORS
      }
    }, async (request, reply) => {
      const user = users.get(request.params.id) ?? abort(404, `There is no user ${request.params.id}.`)
      if (user.credit < request.body.price) throw new OutOfCredit(user.credit, request.body.price, `/api/v1/users/${user.id}`)
      user.credit -= request.body.price
      return await reply.code(201).send({ ok: true, credit: user.credit })
    })

    api.get<{ Querystring: { q?: string } }>('/search', { schema: { response: ERRORS } }, async (request) => {
      const q = request.query.q
      if (q === undefined || q === '') throw new InvalidAPIUsage('Say what to search for.', 400, { parameter: 'q', example: '/api/v1/search?q=alice' })
      return [...users.values()].filter((user) => user.name.includes(q))
    })

    api.get('/reports/today', { schema: { response: ERRORS } }, async () => {
      throw new Error('connection to reports.internal:5432 refused')
    })
  }, { prefix: '/api/v1' })

  return app
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const app = await buildApi()
  await app.listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? '127.0.0.1' })
}
