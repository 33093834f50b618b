// ack_server (Go): the ack protocol written with the standard library only (net, bufio), one of
// the peers bench/server.sh measures framekit against. One goroutine per connection; every
// LF-terminated line (a CR before the LF dropped) is answered with "ack:<line>\n", in order; the
// answers are flushed when the reader holds no further whole request, so pipelined requests
// share a write. A line longer than the reader's 4 KiB buffer closes the connection.
//
//	go build -o ack_server_go ack_server.go
//	./ack_server_go --addr 127.0.0.1:0   # prints "listening on 127.0.0.1:PORT"
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"log"
	"net"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:7103", "address to listen on (port 0 picks a free port)")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	for {
		conn, err := ln.Accept()
		if err != nil {
			// Out of file descriptors and the like: back off instead of spinning.
			time.Sleep(5 * time.Millisecond)
			continue
		}
		go serve(conn)
	}
}

func serve(conn net.Conn) {
	defer conn.Close()
	// net sets TCP_NODELAY on every TCP connection by default.
	r := bufio.NewReader(conn)
	w := bufio.NewWriter(conn)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			// EOF, a reset, or a line longer than the buffer (bufio.ErrBufferFull).
			return
		}
		line = bytes.TrimSuffix(line[:len(line)-1], []byte{'\r'})
		w.WriteString("ack:")
		w.Write(line)
		w.WriteByte('\n')
		// Answer a pipelined batch with one write: flush once no further request is buffered.
		if r.Buffered() == 0 {
			if w.Flush() != nil {
				return
			}
		}
	}
}
