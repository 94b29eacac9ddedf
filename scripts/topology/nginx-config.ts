import { join } from 'node:path';

export interface NginxLayout {
  /** nginx's own folder: config, pid, temp files, certificate copies. */
  dir: string;
  logs: string;
  /** Public HTTPS listener, in front of the gateways. */
  publicPort: number;
  /** Internal plain-HTTP listener in front of the identity providers (what a cluster Service is). */
  idpPort: number;
  gateways: number[];
  idps: number[];
}

/**
 * The load balancer a user would put in front: TLS on the public port, the gateways (HTTPS, checked
 * against the topology's CA) behind it; and an internal listener spreading the gateways' and
 * services' calls for keys and the revocation feed over the identity providers.
 *
 * `proxy_next_upstream error timeout` moves a request whose connection failed to the other replica
 * (nginx never resends a POST it already sent). `max_fails=0`: nginx never marks a replica down. Its
 * default (one failure takes a replica out for 10 s, with no active check to bring it back sooner)
 * emptied the pool in a rolling restart: the replica just restarted was still marked down when the
 * next one stopped, and every request got 502 "no live upstreams". On loopback a refused connection
 * costs nothing, so each request simply tries the next replica.
 */
export function nginxConfig(l: NginxLayout): string {
  const servers = (ports: number[]) => ports.map((p) => `    server 127.0.0.1:${p} max_fails=0;`).join('\n');
  return `worker_processes 1;
pid ${join(l.dir, 'nginx.pid')};
error_log ${join(l.logs, 'nginx.log')} warn;
events { worker_connections 4096; }
http {
  access_log ${join(l.logs, 'nginx-access.log')};
  client_body_temp_path ${join(l.dir, 'tmp/body')};
  proxy_temp_path ${join(l.dir, 'tmp/proxy')};
  fastcgi_temp_path ${join(l.dir, 'tmp/fastcgi')};
  uwsgi_temp_path ${join(l.dir, 'tmp/uwsgi')};
  scgi_temp_path ${join(l.dir, 'tmp/scgi')};

  upstream gateways {
${servers(l.gateways)}
    keepalive 64;
  }
  upstream idps {
${servers(l.idps)}
    keepalive 32;
  }

  server {
    listen 127.0.0.1:${l.publicPort} ssl;
    server_name localhost;
    ssl_certificate ${join(l.dir, 'tls.crt')};
    ssl_certificate_key ${join(l.dir, 'tls.key')};
    location / {
      proxy_pass https://gateways;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto https;
      proxy_ssl_trusted_certificate ${join(l.dir, 'ca.crt')};
      proxy_ssl_verify on;
      proxy_ssl_name localhost;
      proxy_ssl_server_name on;
      proxy_ssl_session_reuse on;
      proxy_next_upstream error timeout;
      proxy_connect_timeout 2s;
      proxy_read_timeout 35s;
    }
  }

  server {
    listen 127.0.0.1:${l.idpPort};
    location / {
      proxy_pass http://idps;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_next_upstream error timeout;
      proxy_connect_timeout 2s;
      proxy_read_timeout 35s;
    }
  }
}
`;
}
