/**
 * The main example: the cases of Flask's "Handling Application Errors" page, on Fastify.
 *
 *   npm run example          # builds the package, then serves http://127.0.0.1:3000/
 *
 * It imports the package by its own name, as an application would (the package.json `exports` let a
 * package import itself): `npm run build` makes `dist/` first.
 *
 * - `/profile?username=…` aborts with 400 (no name) or 404 (unknown user);
 * - custom 404, 4xx and 500 pages for the site: ejs templates in `examples/views/errors/` that extend
 *   the site layout, found by convention (no handler needed);
 * - a JSON API error class carrying a payload (`InvalidAPIUsage`, as in the Flask docs);
 * - a `/blog` prefix with its own 404 (unknown URLs included) and 500 pages, from its own template
 *   folder `examples/views/blog/errors/`;
 * - an `/api` prefix that always answers JSON, 405 with `Allow` included;
 * - outside production, a preview of every error page at `/_errors/<status>` (and `/blog/_errors/…`);
 * - `FLASK_ERRORS_DEBUG=1` turns debug mode on: a 500 shows the debug page (stack, causes, request).
 */
import Fastify from 'fastify'
import view from '@fastify/view'
import ejs from 'ejs'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { fileURLToPath } from 'node:url'
import flaskErrors, { MethodNotAllowed, NotFound, abort, escapeHtml, frameworkErrors } from 'fastify-flask-errors'

/** The Flask docs' API error: a message, a status and a payload. */
export class InvalidAPIUsage extends Error {
  statusCode = 400
  constructor (message: string, statusCode?: number, readonly payload: Record<string, unknown> = {}) {
    super(message)
    if (statusCode !== undefined) this.statusCode = statusCode
  }

  /** The JSON body, as the Flask docs' `to_dict()`. */
  toDict (): Record<string, unknown> {
    return { ...this.payload, message: this.message }
  }
}

const USERS = new Set(['alice', 'bob'])
const VIEWS = fileURLToPath(new URL('views', import.meta.url))

function page (title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
    `<body><nav><a href="/">Home</a> · <a href="/blog/">Blog</a></nav><main>${body}</main></body></html>`
}

/** Builds the example app (used by `npm run example` and by the tests). */
export async function buildApp (options: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: true, frameworkErrors, ...options })
  // The preview of every error page, for designers; never on a production server (the plugin refuses it).
  const preview = process.env.NODE_ENV === 'production' ? false : '/_errors'
  // Error pages are templates: views/errors/404.ejs, 4xx.ejs, 500.ejs, wrapped in views/layout.ejs.
  // production: true makes @fastify/view cache compiled pages and the layout; ejs's own cache: true
  // is what caches include()d partials (views/partials/nav.ejs) — without it every error page
  // re-reads and re-compiles them.
  await app.register(view, {
    engine: { ejs },
    root: VIEWS,
    layout: 'layout.ejs',
    production: true,
    options: { cache: true }
  })
  await app.register(flaskErrors, {
    debug: process.env.FLASK_ERRORS_DEBUG === '1',
    preview
  })
  // The API error class answers JSON wherever it is thrown.
  app.errorhandler(InvalidAPIUsage)((error) => [error.toDict(), error.statusCode])

  app.get('/', async (request, reply) => reply.type('text/html').send(page('Home', '<h1>fastify-flask-errors example</h1><ul>' +
    '<li><a href="/profile">/profile</a> (400) · <a href="/profile?username=carol">/profile?username=carol</a> (404) · <a href="/profile?username=alice">alice</a></li>' +
    '<li><a href="/crash">/crash</a> (500 page)</li><li><a href="/nowhere">/nowhere</a> (site 404)</li>' +
    '<li><a href="/blog/">/blog/</a>, <a href="/blog/nowhere">/blog/nowhere</a> (blog 404), <a href="/blog/crash">/blog/crash</a> (blog 500)</li>' +
    '<li><a href="/api/users/1">/api/users/1</a>, <a href="/api/users/99">/api/users/99</a> (JSON 404), <a href="/api/nowhere">/api/nowhere</a></li>' +
    '<li>Previews: <a href="/_errors/404">/_errors/404</a>, <a href="/_errors/410">/_errors/410</a>, <a href="/_errors/500">/_errors/500</a>, <a href="/blog/_errors/404">/blog/_errors/404</a></li></ul>')))

  // Flask docs: abort(400) without a username, abort(404) for an unknown one.
  app.get<{ Querystring: { username?: string } }>('/profile', async (request, reply) => {
    const name = request.query.username
    if (name === undefined || name === '') return reply.abort(400, 'Say whose profile: /profile?username=alice')
    if (!USERS.has(name)) abort(404, `No user called ${name}.`)
    return reply.type('text/html').send(page(name, `<h1>${escapeHtml(name)}</h1>`))
  })
  app.get('/crash', async () => { throw new Error('database password rejected for db.internal:5432') })

  await app.register(async (blog) => {
    // The blog's pages come from views/blog/errors/ (404.ejs, 500.ejs); other statuses get the
    // built-in page there, not the site's templates.
    await blog.register(flaskErrors, {
      templates: 'blog/errors',
      preview
    })
    // A 404 handler makes the blog own its unknown URLs (/blog/anything); returning the exception
    // renders its default response — the blog's 404 template (Flask's pass-through).
    blog.errorhandler(404)((error) => error)
    blog.get('/', async (request, reply) => reply.type('text/html').send(page('Blog', '<h1>Blog</h1><p><a href="/blog/hello">Hello</a></p>')))
    blog.get('/hello', async (request, reply) => reply.type('text/html').send(page('Hello', '<h1>Hello</h1>')))
    blog.get('/crash', async () => { throw new Error('blog template exploded') })
  }, { prefix: '/blog' })

  await app.register(async (api) => {
    await api.register(flaskErrors, { format: 'json' })
    // The site's 404 page is HTML; the API keeps the default JSON 404 (Flask's pass-through: returning
    // the exception renders its default response, JSON here). Being a 404 handler in a prefixed
    // context, it also makes /api own its unknown URLs.
    api.errorhandler(NotFound)((error) => error)
    api.errorhandler(MethodNotAllowed)((error) => [{ message: 'wrong method', allowed: error.validMethods }, 405])
    api.get<{ Params: { id: string } }>('/users/:id', async (request) => {
      const id = Number(request.params.id)
      if (!Number.isInteger(id) || id < 1) throw new InvalidAPIUsage('user id must be a positive integer', 400, { id: request.params.id })
      if (id > 2) abort(404, `user ${id} does not exist`)
      return { id, name: [...USERS][id - 1] }
    })
  }, { prefix: '/api' })

  return app
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { PORT = '3000', HOST = '127.0.0.1' } = process.env
  const app = await buildApp()
  await app.listen({ port: Number(PORT), host: HOST })
}
