// XCM `utls` (docs/transports.md §5): one name, two endpoints. The server binds
// the TLS address first (learning the real port when 0 was asked for),
// then the UX abstract name "<normalized host>:<port>". Connections keep
// their own transport: ux ones get user `default`, tls ones `ski:...`.

import type { IpAddress } from './address';
import { bindHost, isIpv4Literal, isIpv6Literal, renderIpAddress } from './address';
import type { TlsCredentialFiles } from './tls-credentials';
import type { HandshakeErrorHandler, TlsReloadable } from './tls';
import { listenTls } from './tls';
import { listenUx } from './ux';
import type { ConnectionHandler, MessageListener } from './types';

/** `*` → 0.0.0.0, `[*]` → [::], IPv6 re-rendered compressed in brackets, DNS names kept. */
export function utlsHost(host: string): string {
  const bare = bindHost(host);
  if (isIpv4Literal(bare) || isIpv6Literal(bare)) {
    const rendered = renderIpAddress('tls', bare, 0);
    return rendered.slice('tls:'.length, rendered.lastIndexOf(':'));
  }
  return host;
}

/** The UX name a utls endpoint uses, without the `ux:` prefix. */
export function utlsUxName(host: string, port: number): string {
  return `${utlsHost(host)}:${port}`;
}

export async function listenUtls(
  addr: IpAddress,
  files: TlsCredentialFiles,
  onConnection: ConnectionHandler,
  onHandshakeError?: HandshakeErrorHandler,
): Promise<MessageListener & TlsReloadable> {
  const tls = await listenTls({ transport: 'tls', host: addr.host, port: addr.port }, files, onConnection, onHandshakeError);
  const port = Number(tls.address.slice(tls.address.lastIndexOf(':') + 1));
  let ux: MessageListener;
  try {
    ux = await listenUx({ transport: 'ux', name: utlsUxName(addr.host, port) }, onConnection);
  } catch (err) {
    await tls.close();
    throw err;
  }
  const listener: MessageListener & TlsReloadable = {
    address: `utls:${addr.host}:${port}`,
    close: async () => { await Promise.all([tls.close(), ux.close()]); },
    // Reloaded credentials apply to the TLS half; the UX half has none.
    setCredentials: (files) => tls.setCredentials(files),
  };
  tls.onAcceptError = ux.onAcceptError = (code) => listener.onAcceptError?.(code);
  return listener;
}
