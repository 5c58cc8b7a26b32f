/**
 * With the real @sentry/node initialised with its defaults (its Fastify integration on, with Sentry's
 * own predicate) and `dataCollection: { userInfo: false }`: making the reporter warns that the app's
 * errors would reach Sentry twice, and says the fix; the reporter still sends its events, without the
 * client address. (Sentry is initialised once per process, hence a file of its own.)
 */
import t from 'tap'
import Fastify from 'fastify'
import * as Sentry from '@sentry/node'
import flaskErrors from '../../index.js'
import { sentryReporter } from '../../lib/sentry-entry.js'
import { API } from '../helpers.js'

const events: Sentry.ErrorEvent[] = []
const warnings: Array<Error & { code?: string }> = []
process.on('warning', (warning) => { warnings.push(warning) })

// Made before Sentry.init: there is no client to check yet, and the reporter reads the SDK when it reports.
const early = sentryReporter(Sentry)

Sentry.init({
  dsn: 'https://public@127.0.0.1/1',
  dataCollection: { userInfo: false },
  transport: () => ({
    async send (envelope) {
      for (const [header, payload] of envelope[1]) if (header.type === 'event') events.push(payload as Sentry.ErrorEvent)
      return { statusCode: 200 }
    },
    async flush () { return true }
  })
})

t.test('Sentry\'s Fastify integration with its own predicate: a warning that names the fix', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(flaskErrors, { report: sentryReporter(Sentry) })
  // process.emitWarning delivers on the next tick.
  await new Promise((resolve) => setImmediate(resolve))
  const found = warnings.filter((warning) => warning.code === 'FFE_SENTRY_DOUBLE_CAPTURE')
  t.equal(found.length, 1, 'once, when the reporter is made')
  t.match(found[0]?.message, /fastifyIntegration\(\{ shouldHandleError \}\).*fastify-flask-errors\/sentry/)

  // What the warning is about: Sentry's integration captures the thrown error, as a 500, before the
  // plugin's handler answers it with a 404.
  class KeyError extends Error {}
  app.errorhandler(KeyError)(() => ['no such key', 404])
  app.get('/key', async () => { throw new KeyError('missing') })
  t.equal((await app.inject({ url: '/key', headers: API })).statusCode, 404)
  await app.close()
  await Sentry.flush(2000)
  t.equal(events.length, 1, 'Sentry\'s own integration sent an event for a 404')
  t.match(events[0]?.exception?.values?.at(-1)?.mechanism, { type: 'auto.function.fastify' })
})

t.test('without dataCollection.userInfo the event carries no client address', async (t) => {
  events.length = 0
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(flaskErrors, { report: sentryReporter(Sentry), reportWhen: [409] })
  app.get('/conflict', async (request, reply) => reply.abort(409))
  t.equal((await app.inject({ url: '/conflict', headers: API })).statusCode, 409)
  await app.close()
  await Sentry.flush(2000)
  t.equal(events.length, 1)
  t.equal(events[0]?.exception?.values?.at(-1)?.type, 'Conflict')
  t.notOk(events[0]?.user?.ip_address, 'no ip_address')
})

t.test('a reporter made before Sentry.init reports through the client init made, and does not warn', async (t) => {
  events.length = 0
  t.equal(warnings.filter((warning) => warning.code === 'FFE_SENTRY_DOUBLE_CAPTURE').length, 2, 'one per reporter made after init')
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(flaskErrors, { report: early })
  app.get('/boom', async () => { throw new Error('early reporter') })
  await app.inject({ url: '/boom', headers: API })
  await app.close()
  await Sentry.flush(2000)
  const ours = events.filter((event) => event.exception?.values?.at(-1)?.mechanism?.type === 'fastify-flask-errors')
  t.equal(ours.length, 0, 'Sentry\'s own integration captured the error first, so Sentry dropped the plugin\'s event')
  t.equal(events.length, 1)
})
