// hostile-http: imports Extism's http_request. The sandbox must refuse it before anything runs.
import { http_request } from '@extism/as-pdk/lib/env';
import './abort';

export function run(): i32 {
  return i32(http_request(0, 0));
}
