/**
 * With @fastify/multipart registered: its errors are FastifyErrors with a status of their own
 * (`FST_REQ_FILE_TOO_LARGE` 413, `FST_FILES_LIMIT` 413, `FST_INVALID_MULTIPART_CONTENT_TYPE` 406), so
 * the plugin answers them by that status, through the app's handlers. Uploads go over a real socket:
 * what matters is that the client, still sending its body, receives the error response whole.
 */
import t from 'tap'
import type { Test } from 'tap'
import multipart from '@fastify/multipart'
import { abort } from '../../index.js'
import { build, API, BROWSER, LEVEL, within } from '../helpers.js'

/** A form with one file field of `size` bytes (and, with `files`, that many files). */
function form (size: number, files = 1): FormData {
  const data = new FormData()
  data.append('title', 'holiday')
  for (let i = 0; i < files; i++) data.append('photo', new Blob([Buffer.alloc(size, 0x61)], { type: 'image/png' }), `photo-${i}.png`)
  return data
}

async function server (t: Test) {
  const { app, logs } = await build()
  await app.register(multipart, { limits: { fileSize: 1024, files: 2 } })
  app.post('/upload', async (request) => {
    const file = await request.file()
    if (file === undefined) return abort(400, 'Send a file in the photo field.')
    const buffer = await file.toBuffer()
    return { name: file.filename, size: buffer.length }
  })
  app.post('/album', async (request) => {
    let count = 0
    for await (const part of request.files()) {
      await part.toBuffer()
      count++
    }
    return { count }
  })
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return { app, logs, address }
}

t.test('a file over the size limit is a 413 answered by the plugin', async (t) => {
  const { address, logs } = await server(t)
  const ok = await within(fetch(`${address}/upload`, { method: 'POST', body: form(1000), headers: API }))
  t.equal(ok.status, 200)
  t.same(await within(ok.json()), { name: 'photo-0.png', size: 1000 }, 'a file within the limit is taken')

  const json = await within(fetch(`${address}/upload`, { method: 'POST', body: form(4096), headers: API }))
  t.equal(json.status, 413)
  const body = await within(json.json()) as Record<string, unknown>
  t.same(body, { statusCode: 413, code: 'FST_REQ_FILE_TOO_LARGE', error: 'Payload Too Large', message: 'request file too large', requestId: body.requestId }, "multipart's error, in Fastify's shape")
  t.equal(json.headers.get('x-content-type-options'), 'nosniff')

  const page = await within(fetch(`${address}/upload`, { method: 'POST', body: form(4096), headers: BROWSER }))
  t.equal(page.status, 413)
  t.match(page.headers.get('content-type'), /^text\/html/)
  t.match(await within(page.text()), /request file too large/, 'a browser form post gets the page')

  const line = logs.find((l) => l.msg === 'POST /upload answered 413')
  t.equal(line?.level, LEVEL.info, 'logged as a 4xx')
  t.equal(line?.err?.type, 'FastifyError')
})

t.test('a much larger upload still gets its whole 413, while the client is sending', async (t) => {
  const { address } = await server(t)
  const res = await within(fetch(`${address}/upload`, { method: 'POST', body: form(8 * 1024 * 1024), headers: API }), 10_000)
  t.equal(res.status, 413)
  t.equal((await within(res.json()) as { code: string }).code, 'FST_REQ_FILE_TOO_LARGE')
  // The server goes on taking uploads afterwards.
  const next = await within(fetch(`${address}/upload`, { method: 'POST', body: form(10), headers: API }))
  t.equal(next.status, 200)
  await within(next.text())
})

t.test('errorhandler(413) and a code key handler receive multipart\'s error', async (t) => {
  const { app, address } = await server(t)
  const seen: unknown[] = []
  app.errorhandler(413)((error) => { seen.push(error); return { tooLarge: true, code: error.code } })
  app.register_error_handler('FST_FILES_LIMIT', (error) => [{ tooMany: error.message }, 413])

  const large = await within(fetch(`${address}/upload`, { method: 'POST', body: form(4096), headers: API }))
  t.equal(large.status, 413)
  t.same(await within(large.json()), { tooLarge: true, code: 'FST_REQ_FILE_TOO_LARGE' })
  t.equal((seen[0] as { statusCode?: number }).statusCode, 413, "the handler gets multipart's own error")

  const many = await within(fetch(`${address}/album`, { method: 'POST', body: form(10, 3), headers: API }))
  t.equal(many.status, 413)
  t.same(await within(many.json()), { tooMany: 'reach files limit' }, 'the code key wins over the status (lookup phase 2)')
  const two = await within(fetch(`${address}/album`, { method: 'POST', body: form(10, 2), headers: API }))
  t.same(await within(two.json()), { count: 2 })
})

t.test('a request that is not multipart: multipart\'s 406 and Fastify\'s 415, answered by the plugin', async (t) => {
  const { app, address } = await server(t)
  const json = await within(fetch(`${address}/upload`, { method: 'POST', body: JSON.stringify({ photo: 'x' }), headers: { ...API, 'content-type': 'application/json' } }))
  t.equal(json.status, 406, 'request.file() on a JSON body')
  const body = await within(json.json()) as Record<string, unknown>
  t.same(body, { statusCode: 406, code: 'FST_INVALID_MULTIPART_CONTENT_TYPE', error: 'Not Acceptable', message: 'the request is not multipart', requestId: body.requestId })

  const xml = await within(fetch(`${address}/upload`, { method: 'POST', body: '<photo/>', headers: { ...BROWSER, 'content-type': 'application/xml' } }))
  t.equal(xml.status, 415, 'a content type nobody parses is refused by Fastify before the route')
  t.match(xml.headers.get('content-type'), /^text\/html/)
  t.match(await within(xml.text()), /Unsupported Media Type/)

  app.errorhandler(415)(() => ['Send multipart/form-data.', 415, { 'content-type': 'text/plain; charset=utf-8' }])
  const handled = await within(fetch(`${address}/upload`, { method: 'POST', body: '<photo/>', headers: { 'content-type': 'application/xml' } }))
  t.equal(handled.status, 415)
  t.equal(handled.headers.get('content-type'), 'text/plain; charset=utf-8', "the tuple's content type wins over the string default")
  t.equal(await within(handled.text()), 'Send multipart/form-data.')
})
