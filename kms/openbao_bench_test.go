package kms_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// BenchmarkOpenBaoKV is a peer for EnvFor: what it costs to read a
// workspace's N secrets from OpenBao's KV version 2 engine instead, on a
// dev server on loopback. N values of 48 bytes, named SECRET_0000...,
// are read
//
//   - values=N/one-secret: as one KV secret holding them all (a map),
//     with one GET, its JSON decoded into a map;
//   - values=N/per-secret: as N KV secrets of one value each, with N
//     GETs, one after the other on a kept-alive connection.
//
// Every N gets a fresh dev server: dev mode copies its storage tree on
// every request, so it slows down as paths accumulate. OpenBao's listener
// refuses JSON bodies of more than 1,000 strings (a key and a value are
// two), so a secret of more values is written in parts, a POST and then
// JSON merge patches; reading it back is one GET whatever its size.
func BenchmarkOpenBaoKV(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		bao := newOpenBao(b)
		bao.Call(b, http.MethodPost, "sys/mounts/kv", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}}, nil)
		values := make(map[string]string, n)
		for i := range n {
			values[fmt.Sprintf("SECRET_%04d", i)] = rand.Text()[:24] + rand.Text()[:24]
		}
		writeKV(b, bao, "kv/data/workspace", values)
		for name, v := range values {
			bao.Call(b, http.MethodPost, "kv/data/each/"+name, map[string]any{"data": map[string]string{"value": v}}, nil)
		}
		client := &http.Client{Timeout: 30 * time.Second} // http.DefaultTransport keeps connections alive

		b.Run(fmt.Sprintf("values=%d/one-secret", n), func(b *testing.B) {
			for b.Loop() {
				got := readKV(b, client, bao, "kv/data/workspace")
				if len(got) != n {
					b.Fatalf("read %d values, want %d", len(got), n)
				}
			}
		})
		b.Run(fmt.Sprintf("values=%d/per-secret", n), func(b *testing.B) {
			for b.Loop() {
				for name := range values {
					if got := readKV(b, client, bao, "kv/data/each/"+name); len(got) != 1 {
						b.Fatalf("%s: %d values", name, len(got))
					}
				}
			}
		})
		bao.Stop(b)
	}
}

// writeKV writes values as the one KV v2 secret at path, in parts of at
// most 400 values: under the listener's limit of 1,000 JSON strings.
func writeKV(tb testing.TB, bao *openBao, path string, values map[string]string) {
	tb.Helper()
	const part = 400
	chunk := map[string]string{}
	method := http.MethodPost
	flush := func() {
		bao.Call(tb, method, path, map[string]any{"data": chunk}, nil)
		chunk, method = map[string]string{}, http.MethodPatch
	}
	for k, v := range values {
		chunk[k] = v
		if len(chunk) == part {
			flush()
		}
	}
	if len(chunk) > 0 || method == http.MethodPost {
		flush()
	}
}

// readKV reads the KV v2 secret at path with one GET.
func readKV(tb testing.TB, client *http.Client, bao *openBao, path string) map[string]string {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, bao.Addr+"/v1/"+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("X-Vault-Token", bao.Token)
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		tb.Fatalf("GET %s: %s", path, resp.Status)
	}
	var r struct {
		Data struct {
			Data map[string]string `json:"data"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		tb.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body) // to the end, so that the connection is reused
	return r.Data.Data
}
