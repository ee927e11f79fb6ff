// Command kubectl-imagesync is the kubectl plugin for Portager: put it on PATH
// and run `kubectl imagesync sync NAME --wait` or `kubectl imagesync status NAME`.
package main
