package db_test

import (
	"crypto/rand"
	"encoding/hex"
	"testing"
)

func randomSuffix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
