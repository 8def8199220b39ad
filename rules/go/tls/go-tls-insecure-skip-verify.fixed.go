package client

import (
	"crypto/tls"
	"net/http"
)

func Insecure() *http.Client {
	// ruleid: go-tls-insecure-skip-verify
	config := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: false}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: config}}
}

func Checked() *http.Client {
	// ok: go-tls-insecure-skip-verify
	config := &tls.Config{MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: config}}
}
