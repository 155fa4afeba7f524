import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { testSidecar, type TestSidecar } from '../helpers/sidecar.js';

async function get(sidecar: TestSidecar, path: string) {
  const res = await fetch(`http://127.0.0.1:${sidecar.port}${path}`);
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

describe('HTTP endpoints', () => {
  let sidecar: TestSidecar;
  before(async () => (sidecar = await testSidecar()));
  after(() => sidecar.stop());

  it('GET /healthz answers 200 with a small JSON body', async () => {
    const res = await get(sidecar, '/healthz');
    assert.equal(res.status, 200);
    const body = JSON.parse(res.body);
    assert.equal(body.ok, true);
    assert.equal(body.pid, process.pid);
  });

  it('GET /metrics passes promtool check metrics and counts requests by method and outcome', async () => {
    const client = await sidecar.client();
    await client.call('sidecar.ping', {});
    await client.call('sidecar.ping', {});
    await client.call('sidecar.ping', { nope: 1 } as never).catch(() => undefined);
    const res = await get(sidecar, '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.type, /^text\/plain; version=0\.0\.4/);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: res.body, encoding: 'utf8' });
    assert.equal(promtool.error, undefined, 'promtool must be installed (Debian package prometheus)');
    assert.equal(promtool.status, 0, `promtool: ${promtool.stdout}${promtool.stderr}`);
    assert.match(res.body, /sidecar_rpc_requests_total\{method="sidecar.ping",outcome="ok"\} 2/);
    assert.match(res.body, /sidecar_rpc_requests_total\{method="sidecar.ping",outcome="invalid_params"\} 1/);
    assert.match(res.body, /sidecar_rpc_request_duration_seconds_bucket\{le="\+Inf",method="sidecar.ping"\} 3/);
    assert.match(res.body, /sidecar_ws_connections 1/);
    assert.match(res.body, /process_resident_memory_bytes \d+/);
  });

  it('answers 404 for an unknown path and 426 for plain HTTP on /rpc', async () => {
    assert.equal((await get(sidecar, '/nope')).status, 404);
    assert.equal((await get(sidecar, '/rpc')).status, 426);
  });
});
