//go:build !unix

package platform

const noFollow = 0
