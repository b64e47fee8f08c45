/**
 * Aedes as its own process for the ingest comparison: TCP MQTT on
 * 127.0.0.1:PORT with the default in-memory persistence. Prints "ready" once
 * listening; exits on SIGTERM or when its parent goes away.
 */
import { createServer } from 'node:net';
import { Aedes } from 'aedes';

const port = Number(process.argv[2]);
const broker = await Aedes.createBroker();
const server = createServer(broker.handle);
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => {
  server.close();
  broker.close(() => process.exit(0));
});
