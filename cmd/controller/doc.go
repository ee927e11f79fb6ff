// Command portager-controller runs the ImageSync controller. See pkg/cmd/controller.
package main
