'use strict';
// cluster_server.js -- many clients on every core: node:cluster forks one
// worker process per core, and each serves its share of the clients on an
// event loop of its own, as loop_server does

const cluster = require('node:cluster');
const os = require('node:os');
const common = require('./common');
const { createEchoServer, closeAll } = require('./loop_server');

const PROG = 'cluster_server';
const log = common.logger(PROG); // workers write to the primary's stderr

// cluster.fork() starts this same file again, with the same arguments, as a
// worker: cluster.isPrimary says which of the two we are.
const opts = common.parseArgs(PROG, process.argv.slice(2));
if (opts !== null) {
  if (cluster.isPrimary) primary(); else worker();
}

// ANCHOR: echo
// A worker serves its clients exactly as loop_server does, with the same
// createEchoServer(): one callback per client, pipe() for the echo and its
// backpressure. It talks to the primary over the IPC channel that
// cluster.fork() set up: process.send() and the primary's 'message' event.
async function worker() {
  const { server, connections } = createEchoServer(log);
  // ANCHOR_END: echo
  // ANCHOR: accept
  // In a worker, listen() asks the primary for the socket. The primary
  // binds the address once, accepts every client itself and passes each
  // one's descriptor to the next worker in turn: round-robin, Node's
  // default on Linux, which spreads the clients evenly. (cluster.SCHED_NONE
  // would instead give every worker the listening socket to accept() on,
  // and the kernel would pick who gets a client.) Port 0 gives every worker
  // the same port: the one the kernel chose for the primary.
  try {
    await common.listen(server, opts.host, opts.port);
  } catch (err) {
    process.send({ failed: err.message }); // the primary logs it, once
    return;
  }
  // ANCHOR_END: accept
  // ANCHOR: worker_stop
  // Our part of a stop (the primary logs it): every connection closed,
  // exit 0. The primary sends SIGTERM; Ctrl-C sends SIGINT to us too. If
  // the primary dies, even of SIGKILL, the IPC channel closes, and Node's
  // cluster code in every worker sees 'disconnect' and exits at once.
  const stop = () => closeAll(server, connections, () => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // ANCHOR_END: worker_stop
  process.send({ ready: common.readyLine(server) });
}

// ANCHOR: primary
// The primary serves no client: it forks a worker per core, prints READY
// once every one of them is listening, replaces a worker that dies, and
// stops them all on SIGTERM or SIGINT.
function primary() {
  const count = os.availableParallelism(); // the cores we may use
  const listening = new Set(); // the ids of the workers that serve
  let ready = false;
  let stopping = false;
  let status = 0;
  let last = null; // the line to log when the last worker has gone
  for (let i = 0; i < count; i++) cluster.fork();

  // What the workers tell us: each sends the READY line when it listens
  // (the same line from every one); we print it once, when all of them
  // serve. Or why it cannot ("bind 127.0.0.1:8080: Address already in
  // use"): every worker fails alike, so we log the first and exit 1.
  cluster.on('message', (w, message) => {
    if (message.failed !== undefined && !stopping) {
      log(message.failed);
      shutdown(1);
    } else if (message.ready !== undefined) {
      listening.add(w.id);
      if (!ready && !stopping && listening.size === count) {
        ready = true;
        process.stdout.write(`${message.ready}\n`);
      }
    }
  });
  // ANCHOR_END: primary

  // ANCHOR: stop
  // SIGTERM to every worker (each closes its own clients), and exit once
  // the last has gone, so that none outlives us: the stop line comes after
  // every line of theirs. One that takes longer than half a second is
  // killed outright, so that we still exit within the second.
  const shutdown = (code, line = null) => {
    if (stopping) return;
    stopping = true;
    status = code;
    last = line;
    for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM');
    setTimeout(() => {
      for (const w of Object.values(cluster.workers)) w.process.kill('SIGKILL');
    }, 500).unref();
    if (Object.keys(cluster.workers).length === 0) exit();
  };
  const exit = () => {
    if (last !== null) log(last);
    process.exit(status);
  };
  const stop = (signal) => shutdown(0, `stopping on ${signal}`);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // ANCHOR_END: stop

  // ANCHOR: restart
  // A worker has exited. While we stop, the last one lets us exit. Any
  // other time it died (a crash, a kill): log it and fork a replacement --
  // unless it died before it was listening, which a new one would repeat.
  cluster.on('exit', (w, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers).length === 0) exit();
      return;
    }
    const how = signal ? `killed by ${signal}` : `exited with status ${code}`;
    if (!listening.delete(w.id)) {
      log(`worker ${w.process.pid} ${how} before it was listening`);
      shutdown(1);
      return;
    }
    log(`worker ${w.process.pid} ${how}; starting another`);
    cluster.fork();
  });
  // ANCHOR_END: restart
}
