//go:build !unix

package treecopy

const noFollow = 0
