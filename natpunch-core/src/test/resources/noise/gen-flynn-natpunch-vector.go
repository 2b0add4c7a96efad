// Generates flynn-natpunch-IK_25519_ChaChaPoly_BLAKE2s.txt with flynn/noise (Debian package
// golang-github-flynn-noise-dev), as an independent implementation to check NoiseHandshake against:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run gen-flynn-natpunch-vector.go > flynn-natpunch-IK_25519_ChaChaPoly_BLAKE2s.txt
//
// (then put the comment header back). Kept only to make the test data reproducible.
package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	"github.com/flynn/noise"
)

func seed(label string) []byte {
	s := sha256.Sum256([]byte(label))
	return s[:]
}

func key(label string) noise.DHKey {
	seed := sha256.Sum256([]byte(label))
	k, err := noise.DH25519.GenerateKeypair(bytes.NewReader(seed[:]))
	if err != nil {
		panic(err)
	}
	return k
}

func main() {
	cs := noise.NewCipherSuite(noise.DH25519, noise.CipherChaChaPoly, noise.HashBLAKE2s)
	prologue := []byte("natpunch-go is the best :)")
	is, ie, rs, re := key("natpunch client static"), key("natpunch client ephemeral"), key("natpunch server static"), key("natpunch server ephemeral")
	init, err := noise.NewHandshakeState(noise.Config{CipherSuite: cs, Pattern: noise.HandshakeIK, Initiator: true,
		Prologue: prologue, StaticKeypair: is, Random: bytes.NewReader(seed("natpunch client ephemeral")), PeerStatic: rs.Public})
	if err != nil {
		panic(err)
	}
	resp, err := noise.NewHandshakeState(noise.Config{CipherSuite: cs, Pattern: noise.HandshakeIK, Initiator: false,
		Prologue: prologue, StaticKeypair: rs, Random: bytes.NewReader(seed("natpunch server ephemeral"))})
	if err != nil {
		panic(err)
	}
	fmt.Printf("name %s\n", "Noise_IK_25519_ChaChaPoly_BLAKE2s")
	fmt.Printf("init_prologue %x\ninit_static %x\ninit_ephemeral %x\ninit_remote_static %x\n", prologue, is.Private, ie.Private, rs.Public)
	fmt.Printf("resp_prologue %x\nresp_static %x\nresp_ephemeral %x\n", prologue, rs.Private, re.Private)

	ts := []byte{0x17, 0x9a, 0x3b, 0x5c, 0x00, 0x11, 0x22, 0x33}
	m1, _, _, err := init.WriteMessage(nil, ts)
	if err != nil {
		panic(err)
	}
	fmt.Printf("msg %x %x\n", ts, m1)
	if _, _, _, err = resp.ReadMessage(nil, m1); err != nil {
		panic(err)
	}
	m2, _, rc2, err := resp.WriteMessage(nil, nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("msg %s %x\n", "-", m2)
	_, ic1, _, err := init.ReadMessage(nil, m2)
	if err != nil {
		panic(err)
	}
	lookup := append(append([]byte{}, is.Public...), re.Public...)
	answer := []byte{198, 18, 0, 7, 0x1f, 0x90}
	for i := 0; i < 2; i++ {
		c, _ := ic1.Encrypt(nil, nil, lookup)
		fmt.Printf("msg %x %x\n", lookup, c)
		s, _ := rc2.Encrypt(nil, nil, answer)
		fmt.Printf("msg %x %x\n", answer, s)
		lookup[0]++
		answer[5]++
	}
}
