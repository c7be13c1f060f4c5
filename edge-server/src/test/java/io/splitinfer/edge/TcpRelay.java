package io.splitinfer.edge;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A loopback TCP relay that can misbehave like a network: {@link #pause} holds every byte (a link
 * that goes silent without a reset: the connection stays up, nothing arrives), {@link #resume} lets
 * them through again, {@link #sever} resets every open connection. One thread per direction per
 * connection; tests only.
 */
final class TcpRelay implements AutoCloseable {
  private final ServerSocket listen;
  private final int targetPort;
  private final List<Socket> open = new CopyOnWriteArrayList<>();
  private final Thread acceptor;
  private volatile boolean paused;

  TcpRelay(int targetPort) throws IOException {
    this.targetPort = targetPort;
    this.listen = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    this.acceptor = new Thread(this::acceptLoop, "relay-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  int port() {
    return listen.getLocalPort();
  }

  void pause() {
    paused = true;
  }

  void resume() {
    paused = false;
  }

  /** Resets every open connection (RST); new connections are still accepted. */
  void sever() {
    for (Socket s : open) {
      try {
        s.setSoLinger(true, 0);
        s.close();
      } catch (IOException ignored) {
        // already gone
      }
    }
    open.clear();
  }

  private void acceptLoop() {
    while (!listen.isClosed()) {
      try {
        Socket in = listen.accept();
        Socket out = new Socket(InetAddress.getLoopbackAddress(), targetPort);
        in.setTcpNoDelay(true);
        out.setTcpNoDelay(true);
        open.add(in);
        open.add(out);
        pump(in, out);
        pump(out, in);
      } catch (IOException e) {
        return;
      }
    }
  }

  private void pump(Socket from, Socket to) {
    Thread t =
        new Thread(
            () -> {
              byte[] buf = new byte[64 << 10];
              try (InputStream i = from.getInputStream();
                  OutputStream o = to.getOutputStream()) {
                int n;
                while ((n = i.read(buf)) >= 0) {
                  while (paused) {
                    Thread.sleep(5);
                  }
                  o.write(buf, 0, n);
                  o.flush();
                }
              } catch (IOException | InterruptedException e) {
                // connection gone
              } finally {
                try {
                  to.close();
                  from.close();
                } catch (IOException ignored) {
                  // closing anyway
                }
              }
            },
            "relay-pump");
    t.setDaemon(true);
    t.start();
  }

  @Override
  public void close() throws IOException {
    listen.close();
    sever();
  }
}
