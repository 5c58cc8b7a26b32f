/**
 * lib/internals.ts: the one place the plugin reads Fastify's private state. The first test checks the
 * Fastify facts themselves on the installed version, so a Fastify release that moves them fails here,
 * loudly, before users see a second error reach the wrong handler. The others are the promises those
 * facts keep: onError hooks run once per request, and an app's own error handler runs once. The last
 * two check @fastify/view's fact the same way: where it looked for a missing page.
 */
import t from 'tap'
import Fastify from 'fastify'
import view from '@fastify/view'
import ejs from 'ejs'
import { join } from 'node:path'
import type { FastifyReply } from 'fastify'
import flaskErrors from '../index.js'
import { API, build } from './helpers.js'

t.test('Fastify still keeps the error-handler state the plugin points a second error at', async (t) => {
  const app = Fastify()
  app.setErrorHandler(function own (error, request, reply) { reply.code(500).send({ own: true }) })
  const instanceSymbol = Object.getOwnPropertySymbols(app).find((s) => s.description === 'fastify.errorHandler')
  t.type(instanceSymbol, 'symbol', 'Symbol(fastify.errorHandler) is an own property of the instance')
  const handlerObject = (app as unknown as Record<symbol, { func?: unknown }>)[instanceSymbol as symbol]
  t.type(handlerObject.func, 'function', 'the error handler object has the function under func')
  let seen: symbol | undefined
  app.get('/', () => { throw new Error('x') })
  await app.register(async (child) => {
    // Fastify sets the pointer just before it calls an error handler: it is there while the handler runs.
    child.setErrorHandler(function look (error, request, reply: FastifyReply) {
      seen = Object.getOwnPropertySymbols(reply).find((s) => s.description === 'fastify.reply.nextErrorHandler')
      reply.code(500).send({ own: true })
    })
    child.get('/child', () => { throw new Error('x') })
  })
  await app.inject('/child')
  t.type(seen, 'symbol', 'a reply that errored carries Symbol(fastify.reply.nextErrorHandler)')
  await app.close()
})

t.test('onError hooks run once per request, even when the error handler fails through reply.send(err)', async (t) => {
  const { app } = await build()
  const hooks: string[] = []
  app.addHook('onError', async (request, reply, error) => { hooks.push((error as Error).message) })
  app.errorhandler(404)((error, request, reply) => { reply.send(new Error('handler broke')) })
  app.errorhandler(500)(() => ['<h1>sorry</h1>', 500])
  app.get('/thing', (request, reply) => reply.abort(404))
  const response = await app.inject({ url: '/thing', headers: API })
  t.equal(response.statusCode, 500)
  t.equal(response.body, '<h1>sorry</h1>', 'the 500 handler answers the failure')
  t.same(hooks, ['Nothing was found at this address.'], 'onError ran once, for the error the route threw')
  await app.close()
})

t.test('an onSend hook that throws on the error response does not run onError hooks twice', async (t) => {
  const { app } = await build()
  const hooks: number[] = []
  let failOnce = true
  app.addHook('onError', async (request, reply, error) => { hooks.push((error as { statusCode?: number }).statusCode ?? 0) })
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode === 410 && failOnce) {
      failOnce = false
      throw new Error('onSend broke')
    }
    return payload
  })
  app.get('/gone', (request, reply) => reply.abort(410))
  const response = await app.inject({ url: '/gone', headers: API })
  t.equal(response.statusCode, 500)
  t.equal(response.json().message, 'Something went wrong on our side.', 'a sound 500, its internals hidden')
  t.same(hooks, [410], 'onError ran once')
  await app.close()
})

t.test("an app's own error handler in front of the plugin runs once, whatever fails after it", async (t) => {
  const app = Fastify()
  await app.register(flaskErrors)
  let own = 0
  await app.register(async (child) => {
    // An app's own handler for its part of the app, forwarding what it does not answer itself.
    child.setErrorHandler(function forward (error) {
      own++
      throw error
    })
    child.get('/thing', (request, reply) => reply.abort(404))
  })
  app.errorhandler(404)((error, request, reply) => { reply.send(new Error('handler broke')) })
  const response = await app.inject({ url: '/thing', headers: API })
  t.equal(response.statusCode, 500)
  t.equal(response.json().message, 'Something went wrong on our side.')
  t.equal(own, 1, "the app's own handler ran once")
  await app.close()
})

t.test('@fastify/view still says where it looked for a missing page: the root and the extension', async (t) => {
  // findViewRoot (lib/internals.ts) reads the view root from this error; if a release of
  // @fastify/view words it differently, convention templates would silently be off.
  const root = t.testdir({ 'page.ejs': 'hello' })
  const app = Fastify()
  await app.register(view, { engine: { ejs }, root })
  await app.ready()
  t.equal(await app.view('page'), 'hello', 'pages render from the root, with the engine\'s extension')
  const missing = await app.view('no/such/page').then(() => undefined, (error: unknown) => error) as { code?: unknown, path?: unknown }
  t.equal(missing.code, 'ENOENT', 'a missing page fails with ENOENT')
  t.equal(missing.path, join(root, 'no', 'such', 'page.ejs'), 'whose path is <root>/<page><extension>')
  await app.close()
})

t.test('the plugin finds the view root that way: convention templates are served', async (t) => {
  const root = t.testdir({ errors: { '404.ejs': '<h1>Our <%= status %> page</h1>' } })
  const app = Fastify()
  await app.register(view, { engine: { ejs }, root })
  await app.register(flaskErrors)
  app.get('/gone', (request, reply) => reply.abort(404))
  t.equal((await app.inject({ url: '/gone', headers: { accept: 'text/html' } })).body, '<h1>Our 404 page</h1>')
  await app.close()
})
