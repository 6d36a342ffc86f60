import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { multipartBoundary, MultipartError, parseMultipart } from './multipart.js';

/** A form as fetch() sends it: the body bytes and the boundary of its Content-Type. */
async function encoded(form: FormData): Promise<{ body: Buffer; type: string }> {
  const request = new Request('http://local/', { method: 'POST', body: form });
  return { body: Buffer.from(await request.arrayBuffer()), type: request.headers.get('content-type')! };
}

function form(boundary: string, ...lines: string[]): Buffer {
  return Buffer.from(lines.join('\r\n').replaceAll('BOUNDARY', boundary), 'utf8');
}

describe('parseMultipart', () => {
  test('reads what fetch sends for FormData: a file (bytes intact, even CR LF and "--" inside) and text fields', async () => {
    const photo = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.from('\r\n--not-the-boundary\r\n\r\n'), Buffer.alloc(70_000, 7), Buffer.from('\r\n')]);
    const data = new FormData();
    data.append('photo', new Blob([photo], { type: 'image/jpeg' }), 'phone "1".jpg');
    data.append('note', 'pas sûr : une pêche ?\r\nligne 2');
    data.append('lang', 'fr');
    const { body, type } = await encoded(data);
    const parts = parseMultipart(body, multipartBoundary(type));
    assert.deepEqual(
      parts.map((p) => [p.name, p.filename, p.contentType]),
      [
        ['photo', 'phone %221%22.jpg', 'image/jpeg'],
        ['note', undefined, undefined],
        ['lang', undefined, undefined],
      ],
    );
    assert.ok(parts[0].data.equals(photo));
    assert.equal(parts[1].data.toString('utf8'), 'pas sûr : une pêche ?\r\nligne 2');
    assert.equal(parts[2].data.toString('utf8'), 'fr');
  });

  test("a part's content is a view into the body, not a copy", async () => {
    const data = new FormData();
    data.append('photo', new Blob([Buffer.alloc(200_000, 1)]), 'p.jpg');
    const { body, type } = await encoded(data);
    const [part] = parseMultipart(body, multipartBoundary(type));
    assert.equal(part.data.buffer, body.buffer, 'the photo shares the body’s memory');
    assert.equal(part.data.length, 200_000);
  });

  test('an empty file is a file with no bytes; preamble, quoted boundary, transport padding, epilogue and filename* are read', () => {
    const body = form(
      'b-1',
      'preamble to ignore',
      '--BOUNDARY  ',
      'Content-Disposition: form-data; name="photo"; filename=""',
      'Content-Type: application/octet-stream',
      '',
      '',
      '--BOUNDARY',
      `content-disposition: FORM-DATA; name=x; filename="a.jpg"; filename*=UTF-8''p%C3%AAche.jpg`,
      '',
      'X',
      '--BOUNDARY--',
      'epilogue to ignore',
    );
    const parts = parseMultipart(body, multipartBoundary('multipart/form-data; boundary="b-1"'));
    assert.deepEqual(
      parts.map((p) => [p.name, p.filename, p.data.toString()]),
      [
        ['photo', '', ''],
        ['x', 'pêche.jpg', 'X'],
      ],
    );
  });

  test('malformed forms throw MultipartError naming what is wrong', () => {
    const cases: [Buffer, RegExp][] = [
      [Buffer.from('garbage'), /does not contain the boundary/],
      [form('b', '--BOUNDARY', 'Content-Disposition: form-data; name="a"', '', 'no closing boundary'), /ends before its closing boundary/],
      [form('b', '--BOUNDARY', 'Content-Disposition: form-data; name="a"', 'no empty line'), /no end to its headers/],
      [form('b', '--BOUNDARY', 'Content-Type: text/plain', '', 'x', '--BOUNDARY--'), /no "Content-Disposition: form-data"/],
      [form('b', '--BOUNDARY', 'Content-Disposition: form-data; filename="a"', '', 'x', '--BOUNDARY--'), /no name/],
      [form('b', '--BOUNDARY', '', 'x', '--BOUNDARY--'), /no "Content-Disposition: form-data"/],
      [form('b', '--BOUNDARYjunk', 'Content-Disposition: form-data; name="a"', '', 'x', '--BOUNDARY--'), /not followed by a line break/],
      [form('b', '--BOUNDARY'), /ends before its closing boundary/],
    ];
    for (const [body, message] of cases)
      assert.throws(
        () => parseMultipart(body, 'b'),
        (e: unknown) => e instanceof MultipartError && message.test(e.message),
        String(body),
      );
  });

  test('multipartBoundary: quoted or not; missing or over 70 characters is an error', () => {
    assert.equal(multipartBoundary('multipart/form-data; boundary=----abc'), '----abc');
    assert.equal(multipartBoundary('multipart/form-data; charset=utf-8; BOUNDARY="a b"'), 'a b');
    assert.throws(() => multipartBoundary('multipart/form-data'), MultipartError);
    assert.throws(() => multipartBoundary(`multipart/form-data; boundary=${'x'.repeat(71)}`), /longer than 70/);
  });
});
