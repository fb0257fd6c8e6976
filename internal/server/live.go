package server

import "github.com/lambada-dev/lambada/internal/async"

// Async is the server's async service (the console's Async page reads
// its queue and records and redrives failed events through it).
func (s *Server) Async() *async.Service { return s.async }
