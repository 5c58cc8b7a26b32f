/**
 * With @fastify/autoload: a folder becomes a plugin registered with the folder's prefix, so a 404
 * handler in it owns the unknown URLs under that prefix. An `autohooks` file beside plugins without
 * a prefix runs in a context of its own that has none: a 404 handler there can own no routing URLs,
 * and the plugin says so at startup, naming the context and the fix.
 */
import t from 'tap'
import { fileURLToPath } from 'node:url'
import autoload from '@fastify/autoload'
import { build, API, LEVEL } from '../helpers.js'

const FIXTURES = fileURLToPath(new URL('./fixtures/autoload', import.meta.url))

t.test('a prefixed autoloaded plugin with errorhandler(404) owns /prefix/unknown', async (t) => {
  const { app, logs } = await build()
  await app.register(autoload, { dir: `${FIXTURES}/owned` })
  await app.ready()
  t.teardown(() => app.close())
  const unknown = await app.inject({ url: '/blog/unknown', headers: API })
  t.equal(unknown.statusCode, 404)
  t.same(unknown.json(), { owner: 'blog' }, "the blog folder's handler answers its routing 404s")
  t.same((await app.inject({ url: '/blog/post', headers: API })).json(), { post: 1 })
  t.match((await app.inject({ url: '/elsewhere', headers: API })).json(), { statusCode: 404, error: 'Not Found' }, 'outside /blog: the root answers')
  t.same(logs.filter((l) => l.level >= LEVEL.warn), [], 'no warning: the handler owns its prefix')
})

t.test('an autohooks file registering errorhandler(404) triggers the startup warning naming the context', async (t) => {
  const { app, logs } = await build()
  await app.register(autoload, { dir: `${FIXTURES}/hooked`, autoHooks: true })
  await app.ready()
  t.teardown(() => app.close())
  const warnings = logs.filter((l) => l.level === LEVEL.warn && /can own no routing/.test(l.msg))
  t.equal(warnings.length, 1)
  t.match(warnings[0]?.msg, /the 404 handler of the context "[^"]*hooks"/, "named by autoload's context and the hooks function")
  t.match(warnings[0]?.msg, /give the plugin a prefix/)
  t.same((await app.inject({ url: '/missing-page', headers: API })).json(), { owner: 'autohooks' }, 'its handler sees the 404s its plugins throw')
  t.match((await app.inject({ url: '/unknown', headers: API })).json(), { statusCode: 404, error: 'Not Found' }, 'but not routing 404s: the root answers those')
})

t.test('an autohooks file in a prefixed folder owns that prefix, without a warning', async (t) => {
  const { app, logs } = await build()
  await app.register(autoload, { dir: `${FIXTURES}/hooked-prefixed`, autoHooks: true })
  await app.ready()
  t.teardown(() => app.close())
  t.same((await app.inject({ url: '/users/unknown', headers: API })).json(), { owner: 'users autohooks' })
  t.same((await app.inject({ url: '/users/me', headers: API })).json(), { me: true })
  t.same(logs.filter((l) => l.level >= LEVEL.warn), [])
})
