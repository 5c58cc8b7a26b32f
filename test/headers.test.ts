/**
 * lib/headers.ts as a unit: which header names and values may go out, and applying them to a real
 * Fastify reply (through inject) without ever letting a bad one break the response.
 */
import t from 'tap'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { UNREADABLE, applyHeaders, headerValue, isHeaderName } from '../lib/headers.js'

t.test('headerValue: numbers', async (t) => {
  t.equal(headerValue(120), '120')
  t.equal(headerValue(0), '0')
  t.equal(headerValue(-1), '-1')
  t.equal(headerValue(1.5), '1.5')
  for (const value of [NaN, Infinity, -Infinity]) t.equal(headerValue(value), undefined, String(value))
})

t.test('headerValue: strings', async (t) => {
  for (const value of ['GET, HEAD', '', ' padded ', 'tab\tinside', 'Basic realm="a b"', 'caf\u00e9 (Latin-1)', 'obs-text \u0085\u00ff', '~!@#$%^&*()']) {
    t.equal(headerValue(value), value, JSON.stringify(value))
  }
  const refused = ['a\r\nInjected: yes', 'line\nfeed', 'carriage\rreturn', 'nul\u0000', '\u0001', 'del\u007f', 'euro \u20ac', 'emoji \u{1f600}']
  for (const value of refused) t.equal(headerValue(value), undefined, JSON.stringify(value))
})

t.test('headerValue: arrays', async (t) => {
  const cookies = ['a=1', 'b=2']
  t.equal(headerValue(cookies), cookies)
  t.same(headerValue(['only']), ['only'])
  t.equal(headerValue([]), undefined, 'an empty list sends nothing')
  t.equal(headerValue(['a', 1]), undefined, 'a non-string item')
  t.equal(headerValue(['a', 'b\r\nX: y']), undefined, 'an item with CR/LF')
  t.equal(headerValue([['nested']]), undefined)
  t.equal(headerValue([undefined]), undefined)
})

t.test('headerValue: anything else is refused', async (t) => {
  // eslint-disable-next-line no-new-wrappers -- a boxed string is the case under test
  for (const value of [null, undefined, true, {}, { toString: () => 'x' }, Symbol('s'), 10n, () => 'x', new Date(0), new String('boxed')]) {
    t.equal(headerValue(value), undefined, typeof value)
  }
})

t.test('isHeaderName: RFC 9110 tokens only', async (t) => {
  for (const name of ['Allow', 'retry-after', 'X-Custom_1', "!#$%&'*+.^_`|~", 'WWW-Authenticate', '0']) t.ok(isHeaderName(name), name)
  for (const name of ['', 'Bad Name', 'a:b', 'caf\u00e9', 'a\n', 'a\r\nb', '(x)', '"x"', 'a/b', 'a@b', 'a,b', 'a;b', '\t']) {
    t.notOk(isHeaderName(name), JSON.stringify(name))
  }
})

/** An app whose /apply route applies `headers` to its reply and answers with the refused names. */
async function appApplying (headers: () => Record<string, unknown>): Promise<FastifyInstance> {
  const app = Fastify()
  app.get('/apply', async (_request, reply) => ({ refused: applyHeaders(reply, headers()) }))
  t.teardown(() => app.close())
  return app
}

t.test('applyHeaders on a real reply', async (t) => {
  t.test('valid headers are set, invalid ones refused and reported in order', async (t) => {
    const app = await appApplying(() => {
      const headers: Record<string, unknown> = {
        Allow: 'GET, HEAD',
        'Retry-After': 120,
        'Set-Cookie': ['a=1', 'b=2'],
        'X-Empty': '',
        'X-Tab': 'a\tb',
        'X-Latin': 'caf\u00e9',
        'X-Split': 'a\r\nInjected: yes',
        'Bad Name': 'value',
        'X-NaN': NaN,
        'X-Infinite': Infinity,
        'X-Empty-List': [],
        'X-Null': null,
        'X-Object': {},
        'X-Nul': 'a\u0000b'
      }
      Object.defineProperty(headers, 'X-Getter', { enumerable: true, get () { throw new Error('getter') } })
      headers['X-After-Getter'] = 'still set'
      return headers
    })
    const response = await app.inject('/apply')
    t.equal(response.statusCode, 200, 'the response still goes out')
    t.same(response.json(), {
      refused: ['X-Split', 'Bad Name', 'X-NaN', 'X-Infinite', 'X-Empty-List', 'X-Null', 'X-Object', 'X-Nul', 'X-Getter']
    })
    t.equal(response.headers.allow, 'GET, HEAD')
    t.equal(response.headers['retry-after'], '120')
    t.same(response.headers['set-cookie'], ['a=1', 'b=2'])
    t.equal(response.headers['x-empty'], '')
    t.equal(response.headers['x-tab'], 'a\tb')
    t.ok('x-latin' in response.headers, 'Latin-1 (obs-text) is accepted by Node too')
    t.equal(response.headers['x-after-getter'], 'still set', 'a throwing getter does not stop the others')
    for (const name of ['x-split', 'injected', 'bad name', 'x-nan', 'x-infinite', 'x-empty-list', 'x-null', 'x-object', 'x-nul', 'x-getter']) {
      t.notOk(name in response.headers, `${name} not sent`)
    }
  })

  t.test('framing fields are refused whatever their case: the server sets them from the real body', async (t) => {
    const app = await appApplying(() => ({ 'Content-Length': '9999', 'transfer-encoding': 'chunked', TRAILER: 'X-Checksum', 'X-Kept': 'yes' }))
    const response = await app.inject('/apply')
    t.same(response.json(), { refused: ['Content-Length', 'transfer-encoding', 'TRAILER'] })
    t.equal(response.headers['content-length'], String(Buffer.byteLength(response.body)), 'Content-Length matches what was sent')
    t.notOk('transfer-encoding' in response.headers)
    t.notOk('trailer' in response.headers)
    t.equal(response.headers['x-kept'], 'yes')
  })

  t.test('a null-prototype object works', async (t) => {
    const app = await appApplying(() => Object.assign(Object.create(null) as Record<string, unknown>, { 'X-Bare': 'yes' }))
    const response = await app.inject('/apply')
    t.same(response.json(), { refused: [] })
    t.equal(response.headers['x-bare'], 'yes')
  })

  t.test('a Proxy whose every read throws: every header refused', async (t) => {
    const app = await appApplying(() => new Proxy({ 'X-One': '1', 'X-Two': '2' }, { get () { throw new Error('trap') } }))
    const response = await app.inject('/apply')
    t.equal(response.statusCode, 200)
    t.same(response.json(), { refused: ['X-One', 'X-Two'] })
    t.notOk('x-one' in response.headers)
  })

  t.test('an object whose keys cannot be listed is refused whole', async (t) => {
    const app = await appApplying(() => new Proxy({ 'X-One': '1' }, { ownKeys () { throw new Error('ownKeys trap') } }))
    const response = await app.inject('/apply')
    t.equal(response.statusCode, 200)
    t.same(response.json(), { refused: [UNREADABLE] })
    t.notOk('x-one' in response.headers)
    const { proxy, revoke } = Proxy.revocable({ 'X-One': '1' }, {})
    revoke()
    const revokedApp = await appApplying(() => proxy)
    t.same((await revokedApp.inject('/apply')).json(), { refused: [UNREADABLE] }, 'a revoked Proxy')
  })

  t.test('an empty object sets nothing and refuses nothing', async (t) => {
    const app = await appApplying(() => ({}))
    const response = await app.inject('/apply')
    t.same(response.json(), { refused: [] })
  })
})
