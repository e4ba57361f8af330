// A local stand-in for the alert webhook (alerts.webhook_url): every JSON body POSTed to it is pushed onto the
// test's own array, in arrival order, and answered 200. The test listens on it and builds the URL.
import { createServer, type Server } from 'node:http';

export function webhookReceiver<T>(received: T[]): Server {
  return createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      received.push(JSON.parse(body) as T);
      res.end('ok');
    });
  });
}
