// AckServer (Netty 4.1, NIO transport): the ack protocol as a Netty user writes it, one of the
// peers bench/server.sh measures framekit against. LineBasedFrameDecoder frames the lines (the
// LF, and a CR before it, stripped); the handler writes "ack:<line>\n" for each and flushes once
// per read (channelReadComplete), the pattern of Netty's own echo example, so pipelined requests
// share a write. Lines longer than 64 KiB close the connection. A boss thread accepts; the worker
// group has Netty's default size (two event loops per CPU).
//
//   javac -cp "$(ls /usr/share/java/netty-{common,buffer,transport,codec,handler,resolver}.jar | paste -sd:)" AckServer.java
//   java -cp .:... AckServer --addr 127.0.0.1:0      # prints "listening on 127.0.0.1:PORT"

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.LineBasedFrameDecoder;
import java.net.InetSocketAddress;

public final class AckServer {
    private static final int MAX_LINE = 64 * 1024;
    private static final byte[] ACK = {'a', 'c', 'k', ':'};

    /** Answers each framed line; stateless, so one instance serves every connection. */
    @Sharable
    static final class AckHandler extends SimpleChannelInboundHandler<ByteBuf> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf line) {
            ByteBuf answer = ctx.alloc().buffer(ACK.length + line.readableBytes() + 1);
            answer.writeBytes(ACK).writeBytes(line).writeByte('\n');
            ctx.write(answer);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // A reset or an overlong line: that connection ends, the server goes on.
            ctx.close();
        }
    }

    public static void main(String[] args) throws InterruptedException {
        String addr = "127.0.0.1:7104";
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals("--addr")) {
                addr = args[i + 1];
            }
        }
        int colon = addr.lastIndexOf(':');
        InetSocketAddress bind =
                new InetSocketAddress(addr.substring(0, colon), Integer.parseInt(addr.substring(colon + 1)));
        AckHandler handler = new AckHandler();
        EventLoopGroup boss = new NioEventLoopGroup(1);
        EventLoopGroup workers = new NioEventLoopGroup();
        try {
            Channel server = new ServerBootstrap()
                    .group(boss, workers)
                    .channel(NioServerSocketChannel.class)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new LineBasedFrameDecoder(MAX_LINE), handler);
                        }
                    })
                    .bind(bind)
                    .sync()
                    .channel();
            InetSocketAddress bound = (InetSocketAddress) server.localAddress();
            System.out.println("listening on " + bound.getAddress().getHostAddress() + ":" + bound.getPort());
            System.out.flush();
            server.closeFuture().sync();
        } finally {
            boss.shutdownGracefully();
            workers.shutdownGracefully();
        }
    }
}
