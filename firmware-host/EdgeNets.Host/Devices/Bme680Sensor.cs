using System.Buffers.Binary;
using System.Device.I2c;

namespace EdgeNets.Host.Devices;

/// <summary>
/// The Bosch BME680 on I2C, written from its data sheet (BST-BME680-DS001): temperature, humidity, pressure and the
/// gas sensor's resistance (Ω; it falls as volatile organic compounds rise). Iot.Device.Bindings' <c>Bme680</c>
/// (4.2.0) reads par_t3, par_p3, par_p6, par_p7 and range_switching_error, which the data sheet declares signed, as
/// unsigned, and keeps its calibration out of reach; a chip with a negative one reads wrong there.
/// <para>
/// The gas measurement heats a hot plate (320 °C for 150 ms, heater set-point 0), so the chip runs in forced mode, one
/// measurement per sample: a sample triggers it, waits its duration and reads the results in one burst. Oversampling
/// x4 for temperature, pressure and humidity, IIR filter off. Compensation is the data sheet's floating-point form
/// (sections 3.3.1 to 3.3.5 and 3.4.1).
/// </para>
/// </summary>
public sealed class Bme680Sensor : IEnvironmentSensor
{
    public const byte ChipId = 0x61;
    private const byte Oversampling4 = 0b011;
    private const int HeaterCelsius = 320, HeaterMs = 150, AmbientCelsius = 25;
    private const int FirstCalibration = 0x8A, FirstCalibrationLength = 23, SecondCalibration = 0xE1, SecondCalibrationLength = 14;

    private readonly I2cDevice _device;
    private readonly Bme680Calibration _c;

    public Bme680Sensor(I2cDevice device)
    {
        _device = device;
        byte id = I2cRegisters.Read(device, (byte)Bme680Register.CHIP_ID);
        if (id != ChipId) throw new IOException($"BME680: chip id is 0x{id:X2}, expected 0x{ChipId:X2} (wrong address or not a BME680)");
        _c = ReadCalibration(device);
        I2cRegisters.Write(device, (byte)Bme680Register.CTRL_HUM, Oversampling4);
        I2cRegisters.Write(device, (byte)Bme680Register.CONFIG, 0); // filter off
        I2cRegisters.Write(device, (byte)Bme680Register.GAS_WAIT_0, HeaterDurationCode(HeaterMs));
        I2cRegisters.Write(device, (byte)Bme680Register.RES_HEAT_0, HeaterResistance(_c, HeaterCelsius, AmbientCelsius));
        I2cRegisters.Write(device, (byte)Bme680Register.CTRL_GAS_0, 0); // heater on
        I2cRegisters.Write(device, (byte)Bme680Register.CTRL_GAS_1, 0x10); // run_gas, set-point 0
        MeasurementMs = MeasurementDurationMs() + HeaterMs;
    }

    public int Channels => 4;

    /// <summary>How long one forced measurement takes, in milliseconds.</summary>
    public int MeasurementMs { get; }

    /// <summary>The calibration read from the chip, with the data sheet's signs.</summary>
    public Bme680Calibration Calibration => _c;

    /// <summary>Section 3.3 (table 13 and the register map): the trimming values with their widths and signs.</summary>
    public static Bme680Calibration ReadCalibration(I2cDevice device)
    {
        Span<byte> a = stackalloc byte[FirstCalibrationLength];
        Span<byte> b = stackalloc byte[SecondCalibrationLength];
        I2cRegisters.Read(device, FirstCalibration, a);
        I2cRegisters.Read(device, SecondCalibration, b);
        static short S16(ReadOnlySpan<byte> block, int register, int first) => BinaryPrimitives.ReadInt16LittleEndian(block[(register - first)..]);
        static byte U8(ReadOnlySpan<byte> block, Bme680Register register, int first) => block[(int)register - first];
        return new Bme680Calibration(
            T1: (ushort)S16(b, (int)Bme680Register.PAR_T1, SecondCalibration),
            T2: S16(a, (int)Bme680Register.PAR_T2, FirstCalibration),
            T3: (sbyte)U8(a, Bme680Register.PAR_T3, FirstCalibration),
            P1: (ushort)S16(a, (int)Bme680Register.PAR_P1, FirstCalibration),
            P2: S16(a, (int)Bme680Register.PAR_P2, FirstCalibration),
            P3: (sbyte)U8(a, Bme680Register.PAR_P3, FirstCalibration),
            P4: S16(a, (int)Bme680Register.PAR_P4, FirstCalibration),
            P5: S16(a, (int)Bme680Register.PAR_P5, FirstCalibration),
            P6: (sbyte)U8(a, Bme680Register.PAR_P6, FirstCalibration),
            P7: (sbyte)U8(a, Bme680Register.PAR_P7, FirstCalibration),
            P8: S16(a, (int)Bme680Register.PAR_P8, FirstCalibration),
            P9: S16(a, (int)Bme680Register.PAR_P9, FirstCalibration),
            P10: U8(a, Bme680Register.PAR_P10, FirstCalibration),
            H1: U8(b, Bme680Register.PAR_H1_MSB, SecondCalibration) << 4 | (U8(b, Bme680Register.PAR_H1_H2_LSB, SecondCalibration) & 0x0F),
            H2: U8(b, Bme680Register.PAR_H2_MSB, SecondCalibration) << 4 | U8(b, Bme680Register.PAR_H1_H2_LSB, SecondCalibration) >> 4,
            H3: (sbyte)U8(b, Bme680Register.PAR_H3, SecondCalibration),
            H4: (sbyte)U8(b, Bme680Register.PAR_H4, SecondCalibration),
            H5: (sbyte)U8(b, Bme680Register.PAR_H5, SecondCalibration),
            H6: U8(b, Bme680Register.PAR_H6, SecondCalibration),
            H7: (sbyte)U8(b, Bme680Register.PAR_H7, SecondCalibration),
            G1: (sbyte)U8(b, Bme680Register.PAR_G1, SecondCalibration),
            G2: S16(b, (int)Bme680Register.PAR_G2, SecondCalibration),
            G3: (sbyte)U8(b, Bme680Register.PAR_G3, SecondCalibration),
            ResHeatRange: (I2cRegisters.Read(device, (byte)Bme680Register.RES_HEAT_RANGE) >> 4) & 3,
            ResHeatVal: (sbyte)I2cRegisters.Read(device, (byte)Bme680Register.RES_HEAT_VAL),
            // A 4-bit two's complement number in bits 7:4.
            RangeSwitchingError: (sbyte)(I2cRegisters.Read(device, (byte)Bme680Register.RANGE_SW_ERR) & 0xF0) >> 4);
    }

    /// <summary>
    /// Temperature (°C), relative humidity (%), pressure (hPa) and gas resistance (Ω; NaN when the gas reading is not
    /// valid or the hot plate did not reach its temperature).
    /// </summary>
    public void ReadSample(Span<float> destination)
    {
        I2cRegisters.Write(_device, (byte)Bme680Register.CTRL_MEAS, Oversampling4 << 5 | Oversampling4 << 2 | 0b01);
        Thread.Sleep(MeasurementMs);
        Span<byte> data = stackalloc byte[Bme680Register.GAS_R_LSB - Bme680Register.MEAS_STATUS_0 + 1];
        for (int attempt = 0; ; attempt++)
        {
            I2cRegisters.Read(_device, (byte)Bme680Register.MEAS_STATUS_0, data);
            if ((data[0] & 0x80) != 0) break; // new_data
            if (attempt == 10) throw new IOException("the BME680 skipped a measurement");
            Thread.Sleep(5);
        }
        static int At(Bme680Register r) => r - Bme680Register.MEAS_STATUS_0;
        static int Adc20(ReadOnlySpan<byte> data, Bme680Register msb) => data[At(msb)] << 12 | data[At(msb) + 1] << 4 | data[At(msb) + 2] >> 4;
        var (tFine, celsius) = Temperature(Adc20(data, Bme680Register.TEMP_MSB), _c);
        int humidity = data[At(Bme680Register.HUM_MSB)] << 8 | data[At(Bme680Register.HUM_MSB) + 1];
        byte gasLsb = data[At(Bme680Register.GAS_R_LSB)];
        int gas = data[At(Bme680Register.GAS_R_MSB)] << 2 | gasLsb >> 6;
        bool gasValid = (gasLsb & 0x20) != 0, heaterStable = (gasLsb & 0x10) != 0;
        destination[0] = (float)celsius;
        destination[1] = (float)Humidity(humidity, celsius, _c);
        destination[2] = (float)(Pressure(Adc20(data, Bme680Register.PRESS_MSB), tFine, _c) / 100);
        destination[3] = gasValid && heaterStable ? (float)GasResistance(gas, gasLsb & 0x0F, _c.RangeSwitchingError) : float.NaN;
    }

    /// <summary>Section 3.3.1: t_fine and the temperature in °C.</summary>
    public static (double TFine, double Celsius) Temperature(int adc, Bme680Calibration c)
    {
        double var1 = (adc / 16384.0 - c.T1 / 1024.0) * c.T2;
        double var2 = (adc / 131072.0 - c.T1 / 8192.0) * (adc / 131072.0 - c.T1 / 8192.0) * (c.T3 * 16.0);
        return (var1 + var2, (var1 + var2) / 5120.0);
    }

    /// <summary>Section 3.3.2: pressure in Pa.</summary>
    public static double Pressure(int adc, double tFine, Bme680Calibration c)
    {
        double var1 = tFine / 2.0 - 64000.0;
        double var2 = var1 * var1 * (c.P6 / 131072.0) + var1 * c.P5 * 2.0;
        var2 = var2 / 4.0 + c.P4 * 65536.0;
        var1 = (c.P3 * var1 * var1 / 16384.0 + c.P2 * var1) / 524288.0;
        var1 = (1.0 + var1 / 32768.0) * c.P1;
        if (var1 == 0) return 0; // the data sheet's guard against a division by zero
        double p = (1048576.0 - adc - var2 / 4096.0) * 6250.0 / var1;
        double p256 = p / 256.0;
        return p + (c.P9 * p * p / 2147483648.0 + p * (c.P8 / 32768.0) + p256 * p256 * p256 * (c.P10 / 131072.0) + c.P7 * 128.0) / 16.0;
    }

    /// <summary>Section 3.3.3: relative humidity in %, limited to 0..100.</summary>
    public static double Humidity(int adc, double celsius, Bme680Calibration c)
    {
        double var1 = adc - (c.H1 * 16.0 + c.H3 / 2.0 * celsius);
        double var2 = var1 * (c.H2 / 262144.0 * (1.0 + c.H4 / 16384.0 * celsius + c.H5 / 1048576.0 * celsius * celsius));
        double var3 = c.H6 / 16384.0, var4 = c.H7 / 2097152.0;
        return Math.Clamp(var2 + (var3 + var4 * celsius) * var2 * var2, 0, 100);
    }

    // Section 3.4.1, table 16: the gas ranges' constants.
    private static ReadOnlySpan<double> GasRangeFactor => [1, 1, 1, 1, 1, 0.99, 1, 0.992, 1, 1, 0.998, 0.995, 1, 0.99, 1, 1];
    private static ReadOnlySpan<double> GasRangeResistance => [8000000, 4000000, 2000000, 1000000, 499500.4995, 248262.1648,
        125000, 63004.03226, 31281.28128, 15625, 7812.5, 3906.25, 1953.125, 976.5625, 488.28125, 244.140625];

    /// <summary>Section 3.4.1: gas resistance in Ω from the 10-bit ADC value and its range.</summary>
    public static double GasResistance(int adc, int range, int rangeSwitchingError)
    {
        double var1 = (1340.0 + 5.0 * rangeSwitchingError) * GasRangeFactor[range];
        return var1 * GasRangeResistance[range] / (adc - 512.0 + var1);
    }

    /// <summary>Section 3.3.5: the res_heat_x value that heats the plate to <paramref name="targetCelsius"/>.</summary>
    public static byte HeaterResistance(Bme680Calibration c, int targetCelsius, int ambientCelsius)
    {
        double var1 = c.G1 / 16.0 + 49.0;
        double var2 = c.G2 / 32768.0 * 0.0005 + 0.00235;
        double var3 = c.G3 / 1024.0;
        double var4 = var1 * (1.0 + var2 * targetCelsius);
        double var5 = var4 + var3 * ambientCelsius;
        return (byte)(3.4 * (var5 * (4.0 / (4.0 + c.ResHeatRange)) * (1.0 / (1.0 + c.ResHeatVal * 0.002)) - 25));
    }

    /// <summary>Section 5.3.3.3 (gas_wait_x): 6 bits of 1 ms steps and a multiplier of 1, 4, 16 or 64 in bits 7:6.</summary>
    public static byte HeaterDurationCode(int milliseconds)
    {
        if (milliseconds >= 0xFC0) return 0xFF;
        int factor = 0;
        while (milliseconds > 0x3F)
        {
            milliseconds /= 4;
            factor++;
        }
        return (byte)(milliseconds + factor * 64);
    }

    /// <summary>
    /// Temperature, pressure and humidity conversions at x4 oversampling (1.963 ms per cycle), their switching, the gas
    /// conversion and the wake-up, as the BME68x Sensor API counts them; the heater's time comes on top.
    /// </summary>
    private static int MeasurementDurationMs()
    {
        const int cycles = 4 + 4 + 4;
        int microseconds = cycles * 1963 + 477 * 4 + 477 * 5 + 500;
        return microseconds / 1000 + 1;
    }

    public void Dispose() => _device.Dispose();
}
